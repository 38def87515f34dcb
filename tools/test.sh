#!/usr/bin/env bash
# Run every notebook's inline tests, as nbdev_test does (cells flagged slow/gpu skipped), under pytest.
# NBDEV_FLAGS="slow" (space separated) also runs flagged cells; extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this tree's package, also in a git worktree or a mutant copy
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
