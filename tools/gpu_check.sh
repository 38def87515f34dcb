#!/usr/bin/env bash
# Everything a GPU session checks, in one go (a session has about 15 minutes of device time in all):
#   1. the `#| gpu` cells: NBDEV_FLAGS=gpu tests of every notebook that has one, each notebook under its own time limit,
#      with WHISPER_SAE_DEVICE=cpu so that the notebooks' CPU cells stay on the CPU (`auto` means cpu) while the
#      gpu cells ask for cuda explicitly and compare against them;
#   2. tools/bench_gpu.py: extraction frames/s (bundled tiny.en and base) and TopK training tokens/s and peak memory
#      (d 384 / 512, 16x latents, k 32).
# The last line printed is one JSON object: the test results (notebook, passed, seconds) and the benchmark.
#
#   bash tools/gpu_check.sh            # on a CUDA machine
#   bash tools/gpu_check.sh --dry-run  # anywhere: one fast notebook without the gpu flag, the benchmark at tiny sizes on the CPU
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=.venv/bin/python; [ -x "$PY" ] || PY=python3
DRY=0
case "${1:-}" in --dry-run) DRY=1 ;; "") ;; *) echo "usage: bash tools/gpu_check.sh [--dry-run]" >&2; exit 2 ;; esac
PER_NB=${GPU_CHECK_NOTEBOOK_SECONDS:-150}  # each notebook's limit: the whole script must fit one 10-minute device call

if [ $DRY = 1 ]; then
  NOTEBOOKS="00_config"; FLAGS=""
else
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "gpu_check: PyTorch sees no CUDA GPU here; use --dry-run to check the script on a CPU" >&2; exit 1; }
  NOTEBOOKS=$(grep -l '"#| gpu' nbs/*.ipynb | xargs -n1 basename | sed 's/\.ipynb$//' | tr '\n' ' ')
  FLAGS="gpu"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
fi

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
for nb in $NOTEBOOKS; do
  t0=$(date +%s%N)
  WHISPER_SAE_DEVICE=cpu NBDEV_FLAGS="$FLAGS" timeout "$PER_NB" "$PY" -m pytest tests/test_notebooks.py -q -p no:cacheprovider \
    -k "$nb" > "$RESULTS.$nb.log" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  passed=false; [ $rc = 0 ] && passed=true
  echo "{\"notebook\": \"$nb\", \"passed\": $passed, \"rc\": $rc, \"seconds\": $((ms / 1000)).$(( ms % 1000 / 100 ))}" | tee -a "$RESULTS" >&2
  if [ $rc != 0 ]; then tail -n 40 "$RESULTS.$nb.log" >&2; fi
  rm -f "$RESULTS.$nb.log"
done

if [ $DRY = 1 ]; then "$PY" tools/bench_gpu.py --dry-run --tests "$RESULTS"; else "$PY" tools/bench_gpu.py --tests "$RESULTS"; fi
