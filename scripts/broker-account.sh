#!/usr/bin/env bash
# Broker accounts of the classroom appliances: one per box, named as its device id
# (config/mosquitto/lsi-edge.acl limits each to its own topics). Run as root on the broker host.
# Usage: scripts/broker-account.sh add DEVICE_ID [PASSWORD_FILE]   create or replace; the password
#            is the file's first line, else a random one, printed once with the box's settings
#        scripts/broker-account.sh revoke DEVICE_ID                delete the account
#        scripts/broker-account.sh list                            the accounts in the file
# Edits /etc/mosquitto/lsi-edge.passwd, or $LSI_BROKER_PASSWD.
set -euo pipefail
default_passwords=/etc/mosquitto/lsi-edge.passwd
passwords="${LSI_BROKER_PASSWD:-$default_passwords}"

usage() {
    sed -n '4,8s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

fail() {
    echo "$(basename "$0"): $*" >&2
    exit 1
}

check_device_id() {
    [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] \
        || fail "invalid device id '$1': letters, digits, '_' and '-', at most 64, starting with a letter or digit"
    [ "$1" != lsi-dashboard ] || fail "lsi-dashboard is the dashboard's account, not a device (scripts/install.sh sets it)"
}

# Applies "mosquitto_passwd ARGS… FILE …" to a copy, then moves the copy in place: the broker never
# reads a half-written file, and the mode stays 0640 root:mosquitto when run as root.
edit_passwords() {
    local copy
    copy="$(mktemp "$passwords.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: the name of this copy
    trap "rm -f '$copy'" EXIT
    [ ! -f "$passwords" ] || cat "$passwords" > "$copy"
    mosquitto_passwd "$1" "$copy" "${@:2}" >/dev/null
    chmod 0640 "$copy"
    if [ "$(id -u)" -eq 0 ] && getent group mosquitto >/dev/null; then
        chown root:mosquitto "$copy"
    fi
    mv "$copy" "$passwords"
    trap - EXIT
}

has_account() {
    [ -f "$passwords" ] && grep -q "^$1:" "$passwords"
}

# A broker that systemd runs re-reads its password and ACL files on reload.
reload_broker() {
    if [ "$passwords" = "$default_passwords" ] && [ -d /run/systemd/system ] \
        && systemctl is-active --quiet mosquitto; then
        systemctl reload mosquitto
        echo "Mosquitto reloaded: it checks log-ins against the changed file"
    else
        echo "note: no Mosquitto reloaded (none run by systemd reads $passwords); a running broker re-reads its files on SIGHUP"
    fi
}

[ $# -ge 1 ] || usage
command="$1"
shift
case "$command" in
    add)
        if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
        device_id="$1"
        check_device_id "$device_id"
        if [ $# -eq 2 ]; then
            [ -r "$2" ] || fail "cannot read the password file $2"
            IFS= read -r password < "$2" || true  # a last line without newline is read too
            password="${password%$'\r'}"
            [ -n "$password" ] || fail "the first line of $2 is empty"
            generated=false
        else
            password="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')"
            generated=true
        fi
        edit_passwords -b "$device_id" "$password"
        echo "account $device_id set in $passwords"
        reload_broker
        if [ "$generated" = true ]; then
            cat <<EOT
Its password, shown only now; on the box, write it as the only line of
/etc/lsi-edge/credentials/mqtt-password (root, mode 0600):
$password
EOT
        fi
        cat <<EOT
On the box, /etc/lsi-edge/config.yaml (then: systemctl restart lsi-edge):
device_id: $device_id
mqtt:
  host: $(hostname -f 2>/dev/null || hostname)
  username: $device_id
  password_file: /run/credentials/lsi-edge.service/mqtt-password
EOT
        ;;
    revoke)
        [ $# -eq 1 ] || usage
        device_id="$1"
        check_device_id "$device_id"
        has_account "$device_id" || fail "no account $device_id in $passwords"
        edit_passwords -D "$device_id"
        echo "account $device_id deleted from $passwords"
        reload_broker
        echo "Connections already open as $device_id end when the broker re-reads its files (Mosquitto 2.0 drops"
        echo "them on reload) or restarts; to be certain, restart it (persistence keeps the queues):"
        echo "systemctl restart mosquitto"
        ;;
    list)
        [ $# -eq 0 ] || usage
        [ -f "$passwords" ] || fail "no file $passwords"
        cut -d: -f1 "$passwords" | grep -v '^$' | sort || true
        ;;
    *)
        usage
        ;;
esac
