#!/usr/bin/env bash
# Run the test suite in the project's virtual environment (created on first use).
# Usage: ./run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_venv.sh
exec python -m pytest "$@"
