#!/usr/bin/env bash
# Install what the tests need as Debian packages (Mosquitto, PostgreSQL, Chromium and OpenSSL: the tests
# start their own servers on free ports; systemd's tools to verify the units; ShellCheck for the
# scripts), then LSI Edge with the training and test extras into .venv, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh --required python3 python3-venv ca-certificates mosquitto mosquitto-clients \
    postgresql chromium fonts-dejavu-core systemd shellcheck openssl
scripts/setup.sh train,dev
exec .venv/bin/python -m pytest "$@"
