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

# Offline `dvc plots show`: Vega, Vega-Lite and vega-embed from the npm registry, inlined
# into the HTML template that .dvc/config names (DVC's own page loads them from a CDN).
template=.dvc/plots/offline.html
if [ ! -f "$template" ]; then
  if command -v npm >/dev/null 2>&1; then
    packages=$(mktemp -d)
    specs=$(.venv/bin/python -c 'from emoser.offline_plots import NPM_SPECS; print(NPM_SPECS)')
    # shellcheck disable=SC2086  # $specs is a list of package specs
    (cd "$packages" && npm pack --silent $specs >/dev/null)
    .venv/bin/python -m emoser.offline_plots "$packages" "$template"
    rm -rf "$packages"
  else
    echo "setup.sh: npm not found; 'dvc plots show' needs $template (install Node.js/npm and rerun)" >&2
  fi
fi
