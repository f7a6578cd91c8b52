#!/usr/bin/env bash
# Install LSI Edge with the training and test extras into .venv, then run the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh train,dev
exec .venv/bin/python -m pytest "$@"
