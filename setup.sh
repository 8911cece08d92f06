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

# Offline `dvc plots show`: Vega, Vega-Lite and vega-embed from the npm registry, inlined into
# an HTML template (DVC's own page loads them from a CDN), named in .dvc/config.local only once
# it exists: without npm, `dvc plots show` still works, with DVC's page.
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
    echo "setup.sh: npm not found; 'dvc plots show' will load Vega from a CDN (install Node.js/npm and rerun" \
         "for an offline page)" >&2
  fi
fi
if [ -f "$template" ]; then
  .venv/bin/dvc config --local plots.html_template plots/offline.html
fi
