#!/usr/bin/env bash
# Build the offline corpus into data/offline-corpus/ (or the folder given as the first argument, or
# $WHISPER_SAE_OFFLINE_CORPUS): Debian packages fetched with `apt-get download` (not installed) + the shipped
# fixture -> filtered 16 kHz FLAC, manifest.tsv, SOURCES.md. Idempotent: a re-run converts only what is missing.
# Needs apt-get and dpkg-deb (Debian/Ubuntu). When the package lists are empty it runs `apt-get update` if it is
# root; otherwise it says to run `sudo apt-get update` (or to install the packages) and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exec "$PY" -c 'import sys; from whisper_sae.offline_corpus import build_offline_corpus; build_offline_corpus(sys.argv[1] if len(sys.argv) > 1 else None)' "$@"
