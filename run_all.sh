#!/usr/bin/env bash
# The whole pipeline: corpus -> training -> evaluation -> notebooks and figures.
# Usage: ./run_all.sh [smoke|quick|full] [--force]   (quick by default)
# A thin wrapper: without bash, run `python -m seq2seq_lib run-all --profile quick` in the environment.
set -euo pipefail
cd "$(dirname "$0")"
export SEQ2SEQ_STARTED="$(date +%s)"  # timings.json counts the environment set-up too
source scripts/ensure_venv.sh
profile="quick"
if [ $# -gt 0 ] && [[ "$1" != --* ]]; then profile="$1"; shift; fi
exec python -m seq2seq_lib run-all --profile "$profile" "$@"
