#!/usr/bin/env bash
# Install innovation-kb into ./.venv on a fresh machine. --dev adds the test and lint tools.
# torch==2.13.0 goes first: the pin takes the local CPU build; an unpinned torch pulls CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
"$python_bin" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' || {
  echo "innovation-kb needs Python 3.11; set PYTHON=/path/to/python3.11" >&2; exit 1; }

# Front-end assets first: the Python package ships the compiled GOV.UK Frontend styles. The package build
# (setup.py) would also run these, but here a missing npm is said before the long pip install.
command -v npm >/dev/null 2>&1 || { echo "innovation-kb needs Node.js and npm (apt-get install nodejs npm)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install --quiet -e '.[dev]'
else
  .venv/bin/python -m pip install --quiet .
fi
echo "installed: $(.venv/bin/kb --version)"
