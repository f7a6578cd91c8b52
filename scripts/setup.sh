#!/usr/bin/env bash
# Install what the appliance needs: the Mosquitto broker (a Debian package, when root or sudo
# can install it; otherwise the command is printed), then .venv in the repository root with
# LSI Edge in it. Idempotent.
# Usage: scripts/setup.sh [extras]   e.g. scripts/setup.sh train,dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"

system=(mosquitto mosquitto-clients)
# Debian's Python creates virtual environments only with python3-venv (it brings ensurepip).
"$python" -c "import ensurepip" 2>/dev/null || system+=(python3-venv)
scripts/system-packages.sh "${system[@]}" || true

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip wheel

spec="."
[ -n "$extras" ] && spec=".[${extras}]"
"${pip[@]}" install -e "$spec"

# mediapipe 0.10.21 (x86-64) / 0.10.18 (aarch64, Raspberry Pi OS 64-bit) are the last releases
# that ship the face-detection models in the wheel; nothing is downloaded at run time.
case "$(uname -m)" in
    aarch64|arm64) mediapipe="mediapipe==0.10.18" ;;
    *) mediapipe="mediapipe==0.10.21" ;;
esac
"${pip[@]}" install --no-deps "$mediapipe"

# Exactly one OpenCV, the headless one: drop any GUI build another package brought in.
for other in opencv-python opencv-contrib-python opencv-contrib-python-headless; do
    if .venv/bin/python -m pip show -q "$other" >/dev/null 2>&1; then
        "${pip[@]}" uninstall -y "$other"
        "${pip[@]}" install --force-reinstall --no-deps opencv-python-headless==4.11.0.86
    fi
done
echo "LSI Edge installed in .venv ($(.venv/bin/python --version), extras: ${extras:-none})"
