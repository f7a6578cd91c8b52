#!/usr/bin/env bash
# Regenerate the README's dashboard screenshots (docs/screenshots/) with the browser test:
# a real appliance, Mosquitto and headless Chromium. Tests alone never touch these files.
set -euo pipefail
cd "$(dirname "$0")/.."
LSI_EDGE_SCREENSHOTS="$PWD/docs/screenshots" exec .venv/bin/python -m pytest -q tests/test_dashboard_browser.py "$@"
