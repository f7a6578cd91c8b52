"""The box's Mosquitto configuration (config/mosquitto/), run by a real Mosquitto: log-ins are
required, and a dashboard's queued feed survives a broker restart (persistence)."""

import getpass
import shutil
import subprocess
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import broker_listening
from edge.paths import REPO_ROOT
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import aggregate_payload, wait_for

PASSWORDS = {"lsi-edge": "edge-secret", "lsi-dashboard": "dashboard-secret"}


def _start(folder, port):
    """The installed configuration, with the test's port, files and persistence folder."""
    conf = (REPO_ROOT / "config" / "mosquitto" / "lsi-edge.conf").read_text()
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("/etc/mosquitto/lsi-edge.passwd", str(folder / "passwd"))
    conf = conf.replace("/etc/mosquitto/lsi-edge.acl", str(REPO_ROOT / "config" / "mosquitto" / "lsi-edge.acl"))
    # As Debian's main file adds; and stay this user (as root, Mosquitto would switch to `mosquitto`,
    # which cannot enter the test's folder).
    (folder / "mosquitto.conf").write_text(f"persistence_location {folder}/\nuser {getpass.getuser()}\n{conf}")
    process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(folder / "mosquitto.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: broker_listening("127.0.0.1", port) or process.poll() is not None, 10, "mosquitto")
    assert process.poll() is None, process.stderr.read().decode()
    return process


def _client(port, user, client_id, clean=True):
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    if user:
        client.username_pw_set(user, PASSWORDS[user])
    client.codes, client.received = [], []
    client.on_connect = lambda c, u, f, rc, p: c.codes.append(rc)
    client.on_message = lambda c, u, m: c.received.append(m.topic)
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_for(lambda: client.codes, 10, f"CONNACK for {user}")
    return client


def test_log_in_is_required_and_queued_messages_survive_a_broker_restart(tmp_path):
    passwords = tmp_path / "passwd"
    passwords.touch()
    for user, password in PASSWORDS.items():
        subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True, capture_output=True)
    port = free_port()
    broker = _start(tmp_path, port)
    try:
        anonymous = _client(port, None, "anonymous")
        assert anonymous.codes[0].is_failure  # not authorised
        anonymous.loop_stop()

        dashboard = _client(port, "lsi-dashboard", "dashboard", clean=False)
        assert not dashboard.codes[0].is_failure
        dashboard.subscribe("lsi/#", qos=1)
        time.sleep(0.5)
        dashboard.disconnect()
        dashboard.loop_stop()

        appliance = _client(port, "lsi-edge", "appliance")
        appliance.publish("lsi/room-1/aggregate", aggregate_payload("room-1", 1, 50.0, time.time()), qos=1)\
            .wait_for_publish(timeout=5)
        appliance.disconnect()
        appliance.loop_stop()
        broker.terminate()  # saves the queue on the way out
        broker.wait(timeout=10)

        broker = _start(tmp_path, port)
        dashboard = _client(port, "lsi-dashboard", "dashboard", clean=False)
        wait_for(lambda: dashboard.received == ["lsi/room-1/aggregate"], 10, "the queued window after the restart")
        dashboard.loop_stop()
    finally:
        broker.terminate()
        broker.wait(timeout=10)
