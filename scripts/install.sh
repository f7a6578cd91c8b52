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

# Credentials: one broker password per service, made once, readable by root only (systemd hands
# them to the services with LoadCredential=).
install -d -m 0755 "$etc"
install -d -m 0700 "$credentials"
for name in mqtt-password dashboard-mqtt-password; do
    [ -s "$credentials/$name" ] || (umask 077 && python3 -c "import secrets; print(secrets.token_urlsafe(24))" \
        > "$credentials/$name")
done
[ -f "$etc/config.yaml" ] || {
    cp "$prefix/config/default.yaml" "$etc/config.yaml"
    cat >> "$etc/config.yaml" <<'YAML'
mqtt:
  username: lsi-edge
  password_file: /run/credentials/lsi-edge.service/mqtt-password
YAML
}
[ -f "$etc/dashboard.yaml" ] || cat > "$etc/dashboard.yaml" <<'YAML'
# Every key: docs/dashboard.md
mqtt_username: lsi-dashboard
mqtt_password_file: /run/credentials/lsi-dashboard.service/mqtt-password
YAML

# Broker: log-ins for the two services, the topic rules, persistence.
install -m 0644 "$prefix/config/mosquitto/lsi-edge.conf" /etc/mosquitto/conf.d/lsi-edge.conf
install -m 0644 "$prefix/config/mosquitto/lsi-edge.acl" /etc/mosquitto/lsi-edge.acl
passwords=/etc/mosquitto/lsi-edge.passwd
: > "$passwords.new"
mosquitto_passwd -b "$passwords.new" lsi-edge "$(cat "$credentials/mqtt-password")"
mosquitto_passwd -b "$passwords.new" lsi-dashboard "$(cat "$credentials/dashboard-mqtt-password")"
chown root:mosquitto "$passwords.new"
chmod 0640 "$passwords.new"
mv "$passwords.new" "$passwords"

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
LSI Edge is installed. Next:
  $prefix/.venv/bin/lsi-edge doctor --config $etc/config.yaml
  sudo -u lsi-edge $prefix/.venv/bin/lsi-edge dashboard --config $etc/dashboard.yaml create-user --username head --role admin
  edit $etc/config.yaml (device_id, source.uri), then: systemctl reload lsi-edge
EOT
