#!/usr/bin/env bash
# Remove everything scripts/install.sh made: units, code, configuration, credentials, stored data
# (the database: export what you need first), the broker's settings, rules and accounts (every box's
# added with scripts/broker-account.sh too), the lsi-edge user.
# The Debian packages it installed (mosquitto, …) stay; remove them with apt if nothing else uses them.
# Usage: sudo scripts/uninstall.sh
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }
units=(lsi-edge.service lsi-dashboard.service)
if [ -d /run/systemd/system ]; then
    systemctl disable --now "${units[@]}" 2>/dev/null || true
fi
for unit in "${units[@]}"; do
    rm -f "/etc/systemd/system/$unit"
done
[ -d /run/systemd/system ] && systemctl daemon-reload
rm -rf /opt/lsi-edge /etc/lsi-edge /var/lib/lsi-edge /var/lib/lsi-dashboard /var/lib/private/lsi-edge \
    /var/lib/private/lsi-dashboard
rm -f /etc/mosquitto/conf.d/lsi-edge.conf /etc/mosquitto/lsi-edge.acl /etc/mosquitto/lsi-edge.passwd
if [ -d /run/systemd/system ] && systemctl is-active --quiet mosquitto; then
    systemctl restart mosquitto
fi
if id -u lsi-edge >/dev/null 2>&1; then
    userdel lsi-edge
fi
getent group lsi-edge >/dev/null && groupdel lsi-edge
echo "LSI Edge removed"
