#!/usr/bin/env bash
# docs/reliability.md from one run of the fault tests (those using the `reliability` fixture): each
# fault tried, the promise, what was observed. The short versions are what CI runs; --full runs the
# long ones (20,000 windows at once, a 5-minute broker outage). Later issues add fault tests.
# Usage: scripts/reliability.sh [--full] [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
observations="$(mktemp -d)"
trap 'rm -rf "$observations"' EXIT
if [ "${1:-}" = "--full" ]; then
    export LSI_EDGE_RELIABILITY_FULL=1
    shift
fi
LSI_EDGE_RELIABILITY="$observations" .venv/bin/python -m pytest -q -p no:cacheprovider -m reliability "$@"
.venv/bin/python scripts/reliability_report.py "$observations" > docs/reliability.md
echo "wrote docs/reliability.md ($(find "$observations" -name '*.json' | wc -l) faults)"
