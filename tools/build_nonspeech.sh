#!/usr/bin/env bash
# Build the non-speech set (music, noise, tones, silence; for measuring hallucination) into data/nonspeech/ (or
# $WHISPER_SAE_NONSPEECH): Asterisk music on hold and non-speech prompts (Debian packages fetched with `apt-get download`),
# music written by a seeded generator and rendered by FluidSynth with the Fluid R3 GM soundfont, and generated noise,
# tones and silence. Installs FluidSynth and the soundfont when run as root; otherwise names the apt command and stops.
# Resumable: a re-run makes only the clips that are missing. Extra arguments are keyword arguments of build_nonspeech,
# e.g. prompts=false or counts='{music-moh: 5, noise-white: 4}'.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
APT=(fluidsynth fluid-soundfont-gm)
missing=$(for p in "${APT[@]}"; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing the music synthesiser: $missing"
    apt-get install -y -q --no-install-recommends $missing >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
  else
    echo "the non-speech set needs: sudo apt-get install --no-install-recommends $missing   (then run this again)" >&2; exit 1
  fi
fi
exec "$PY" - "$@" <<'PYEOF'
import sys
from whisper_sae.config import parse_override
from whisper_sae.nonspeech import build_nonspeech
build_nonspeech(**dict(parse_override(a) for a in sys.argv[1:]))  # key=value, the value read as YAML (as the CLI's overrides)
PYEOF
