#!/usr/bin/env bash
# Install LSI Edge as a service on a Raspberry Pi OS / Debian box (idempotent; run as root):
#   user lsi-edge (member of video) · code and .venv in /opt/lsi-edge · configuration and
#   credentials in /etc/lsi-edge · state in /var/lib/lsi-edge and /var/lib/lsi-dashboard (made by
#   systemd) · Mosquitto with log-ins and persistence · units lsi-edge and lsi-dashboard.
# Existing configuration and passwords are kept. scripts/uninstall.sh removes all of it.
# Usage: sudo scripts/install.sh
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
prefix=/opt/lsi-edge
etc=/etc/lsi-edge
credentials="$etc/credentials"

"$source_dir/scripts/system-packages.sh" --required python3 python3-venv ca-certificates rsync mosquitto \
    mosquitto-clients

id -u lsi-edge >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/lsi-edge --no-create-home \
    --shell /usr/sbin/nologin lsi-edge
usermod --append --groups video lsi-edge

# Code (without the checkout's .venv and git data) and its own virtual environment.
mkdir -p "$prefix"
rsync -a --delete --exclude /.venv --exclude /.git --exclude '__pycache__' "$source_dir/" "$prefix/"
"$prefix/scripts/setup.sh"

# This box's device id (its room; the name of its broker account): from an existing
# configuration, else $LSI_EDGE_DEVICE_ID, else lsi-<first 8 hex digits of /etc/machine-id>.
if [ -f "$etc/config.yaml" ]; then
    device_id="$("$prefix/.venv/bin/python" -c 'import sys, yaml
config = yaml.safe_load(open(sys.argv[1])) or {}
print(config.get("device_id") or "lsi-edge")' "$etc/config.yaml")"
else
    device_id="${LSI_EDGE_DEVICE_ID:-lsi-$(head -c 8 /etc/machine-id)}"
fi
if ! [[ "$device_id" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] || [ "$device_id" = lsi-dashboard ]; then
    echo "invalid device id '$device_id': letters, digits, '_' and '-', at most 64, not lsi-dashboard" >&2
    exit 1
fi

# Credentials, made once, readable by root only (systemd hands them to the services with
# LoadCredential=): one broker password per service, and the token the appliance requires with
# every command (the dashboard sends it for this box).
install -d -m 0755 "$etc"
install -d -m 0700 "$credentials"
for name in mqtt-password:24 dashboard-mqtt-password:24 command-token:32; do
    [ -s "$credentials/${name%:*}" ] || (umask 077 && python3 -c \
        "import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))" "${name#*:}" > "$credentials/${name%:*}")
done
if [ -f "$etc/config.yaml" ]; then
    # Kept as it is; say what an older configuration lacks for the per-device broker account.
    "$prefix/.venv/bin/python" -c 'import sys, yaml
mqtt = (yaml.safe_load(open(sys.argv[1])) or {}).get("mqtt") or {}
if mqtt.get("username") != sys.argv[2]:
    print(f"warning: {sys.argv[1]}: set mqtt.username: {sys.argv[2]} (the broker account is the device id)")
if not mqtt.get("command_token_file"):
    print(f"warning: {sys.argv[1]}: set mqtt.command_token_file: /etc/lsi-edge/credentials/command-token")' \
        "$etc/config.yaml" "$device_id" >&2
else
    sed "s/^device_id:.*/device_id: $device_id/" "$prefix/config/default.yaml" > "$etc/config.yaml"
    cat >> "$etc/config.yaml" <<YAML
mqtt:
  username: $device_id
  password_file: /run/credentials/lsi-edge.service/mqtt-password
  command_token_file: $credentials/command-token
YAML
fi
if [ -f "$etc/dashboard.yaml" ]; then
    grep -q '^local_device_id:' "$etc/dashboard.yaml" || echo "warning: $etc/dashboard.yaml: set" \
        "local_device_id: $device_id and local_token_file: /run/credentials/lsi-dashboard.service/command-token" >&2
else
    cat > "$etc/dashboard.yaml" <<YAML
# Every key: docs/dashboard.md
mqtt_username: lsi-dashboard
mqtt_password_file: /run/credentials/lsi-dashboard.service/mqtt-password
local_device_id: $device_id
local_token_file: /run/credentials/lsi-dashboard.service/command-token
YAML
fi

# Broker: log-ins, the topic rules, persistence. Accounts: lsi-dashboard and this box's device
# id, set from the credentials on every run; other boxes' accounts (scripts/broker-account.sh)
# stay. The shared account of earlier versions (lsi-edge with an ACL "user lsi-edge") goes.
install -m 0644 "$prefix/config/mosquitto/lsi-edge.conf" /etc/mosquitto/conf.d/lsi-edge.conf
passwords=/etc/mosquitto/lsi-edge.passwd
: > "$passwords.new"
[ ! -f "$passwords" ] || cat "$passwords" > "$passwords.new"
if [ "$device_id" != lsi-edge ] && grep -qx 'user lsi-edge' /etc/mosquitto/lsi-edge.acl 2>/dev/null \
    && grep -q '^lsi-edge:' "$passwords.new"; then
    mosquitto_passwd -D "$passwords.new" lsi-edge
fi
mosquitto_passwd -b "$passwords.new" "$device_id" "$(cat "$credentials/mqtt-password")"
mosquitto_passwd -b "$passwords.new" lsi-dashboard "$(cat "$credentials/dashboard-mqtt-password")"
chown root:mosquitto "$passwords.new"
chmod 0640 "$passwords.new"
mv "$passwords.new" "$passwords"
install -m 0644 "$prefix/config/mosquitto/lsi-edge.acl" /etc/mosquitto/lsi-edge.acl

install -m 0644 "$prefix/systemd/lsi-edge.service" "$prefix/systemd/lsi-dashboard.service" /etc/systemd/system/
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now mosquitto
    systemctl restart mosquitto
    systemctl enable lsi-edge lsi-dashboard
    systemctl restart lsi-edge lsi-dashboard
    echo "running: systemctl status lsi-edge lsi-dashboard; journalctl -u lsi-edge -f"
else
    echo "systemd is not running here: units installed, start them on the box" >&2
fi
cat <<EOT
LSI Edge is installed as device $device_id (broker account $device_id). Next:
  $prefix/.venv/bin/lsi-edge doctor --config $etc/config.yaml
  sudo -u lsi-edge $prefix/.venv/bin/lsi-dashboard --config $etc/dashboard.yaml create-user --username head --role admin
  edit $etc/config.yaml (source.uri), then: systemctl reload lsi-edge
  another box on this broker: sudo $prefix/scripts/broker-account.sh add ITS_DEVICE_ID (docs/service.md, "Broker accounts")
  this appliance's command token: sudo $prefix/.venv/bin/lsi-edge token --config $etc/config.yaml
EOT
