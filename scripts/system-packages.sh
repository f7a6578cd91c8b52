#!/usr/bin/env bash
# Install the Debian packages named as arguments when some are missing (idempotent).
# As root: apt-get directly; otherwise through sudo when it can be used (passwordless or at a
# terminal). When neither works, or on a system without apt, print the one command to run.
# Usage: scripts/system-packages.sh [--required] PACKAGE...
#   --required: exit non-zero when the packages could not be installed (the tests need them).
set -euo pipefail
required=0
if [ "${1:-}" = "--required" ]; then
    required=1
    shift
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
else
    missing=("$@")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

command_line="apt-get install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "not a Debian system: install the equivalents of: ${missing[*]}" >&2
    exit $required
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    as_root=(sudo)
else
    echo "missing system packages; run: sudo apt-get update && sudo $command_line" >&2
    exit $required
fi
echo "installing system packages: ${missing[*]}" >&2
# Another apt run (unattended-upgrades, a second set-up) may hold the lock: wait for it.
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600)
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
