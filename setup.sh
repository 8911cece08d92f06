#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned requirements and the emoser package.
# Idempotent: a second run only checks that everything is there.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.emoser-installed
if [ ! -f "$stamp" ] || ! cmp -s requirements.txt "$stamp"; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  cp requirements.txt "$stamp"
fi
.venv/bin/python -m pip install --quiet --no-deps -e .
