#!/usr/bin/env bash
# Create or reuse .venv with the pinned requirements and this package (editable).
# Sourced by run_all.sh and run_tests.sh; reinstalls only when requirements or pyproject change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python_bin="${PYTHON:-python3}"
stamp="$venv/.requirements.sha256"
sha256() { "$python_bin" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'; }
want="$(cat "$root/requirements.txt" "$root/pyproject.toml" | sha256)"
if [ ! -x "$venv/bin/python" ]; then
  export SEQ2SEQ_FRESH_VENV=1  # for timings.json: nothing was installed before this run
  echo "[setup] creating virtual environment in .venv (Python: $($python_bin --version))"
  if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    echo "[setup] warning: the project is pinned and tested on Python 3.11; set PYTHON=python3.11 to use it"
  fi
  "$python_bin" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[setup] installing pinned requirements into .venv (first run takes a few minutes)"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt"
  "$venv/bin/python" -m pip install --quiet --no-deps -e "$root"
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
