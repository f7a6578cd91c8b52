"""Nothing lost between the broker and the dashboard's database: a burst through the broker as
`lsi-edge up` starts it, a backlog of many devices across a dashboard restart, a database that
refuses writes for a while (nothing acknowledged before it is stored), and a clean stop."""

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from dashboard import create_app
from dashboard.config import DashboardConfig
from dashboard.models import APPROVED, Room, WindowRecord
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import Broker, aggregate_payload, wait_for


@pytest.fixture
def up_broker(tmp_path):
    """A broker as `lsi-edge up` starts it (edge.broker.start_mosquitto: the product's limits)."""
    broker = Broker(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


def _config(tmp_path, port, **settings) -> DashboardConfig:
    return DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                           mqtt_host="127.0.0.1", mqtt_port=port, mqtt_client_id="dashboard-under-test",
                           **settings)


class Devices:
    """Simulated appliances: one fast QoS 1 publisher for all of them."""

    def __init__(self, port: int):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="simulated-devices")
        self.client.max_inflight_messages_set(500)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, device: str, seqs, start: float) -> None:
        infos = [self.client.publish(f"lsi/{device}/aggregate", aggregate_payload(device, seq, 60.0, start + 5 * seq),
                                     qos=1) for seq in seqs]
        for info in infos:
            info.wait_for_publish(timeout=120)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _stored(app) -> dict[str, int]:
    with app.config["SESSIONS"]() as db:
        return dict(db.execute(select(WindowRecord.device_id, func.count()).group_by(WindowRecord.device_id)).all())


def _approve(app, devices) -> None:
    with app.config["SESSIONS"].begin() as db:
        for device in devices:
            db.add(Room(device_id=device, name=device, approval=APPROVED))


def _subscribed(app, port) -> None:
    """The dashboard's persistent session exists at the broker (its first connection subscribed)."""
    wait_for(lambda: app.config["INGEST"].connected, 15, "the dashboard's connection")
    time.sleep(0.5)


def test_a_burst_of_6000_windows_is_stored_exactly_once(tmp_path, up_broker, reliability):
    count = 20_000 if reliability.full else 6000
    app = create_app(_config(tmp_path, up_broker.port, local_device_id="room-1"))
    devices = Devices(up_broker.port)
    try:
        _subscribed(app, up_broker.port)
        started = time.monotonic()
        devices.send("room-1", range(1, count + 1), time.time() - 5 * count - 60)
        wait_for(lambda: _stored(app).get("room-1") == count, 600, f"{count} windows stored")
        seconds = time.monotonic() - started
        with app.config["SESSIONS"]() as db:
            seqs = list(db.scalars(select(WindowRecord.seq).where(WindowRecord.device_id == "room-1")))
        assert sorted(seqs) == list(range(1, count + 1))
        reliability.record(f"{count:,} QoS 1 windows from one device at once, through the broker as `lsi-edge up` "
                           "starts it", "every window stored exactly once (the broker queues up to 200,000 "
                           "messages per persistent client)",
                           f"{count:,} of {count:,} stored once in {seconds:.0f} s ({count / seconds:.0f} windows/s "
                           "on this 2-core machine, SQLite)")
    finally:
        devices.close()
        app.config["INGEST"].stop()


def test_a_backlog_of_20_devices_survives_a_dashboard_restart(tmp_path, up_broker, reliability):
    names = [f"room-{k}" for k in range(20)]
    cfg = _config(tmp_path, up_broker.port)
    app = create_app(cfg)
    _approve(app, names)
    devices = Devices(up_broker.port)
    start = time.time() - 3000
    try:
        _subscribed(app, up_broker.port)
        sender = threading.Thread(target=lambda: [devices.send(name, range(1, 301), start) for name in names])
        sender.start()
        wait_for(lambda: sum(_stored(app).values()) >= 1000, 120, "a part of the backlog")
        app.config["INGEST"].stop()  # the dashboard goes down midway (e.g. an upgrade)
        sender.join(timeout=240)
        restarted = create_app(cfg)  # same client id: the broker kept the rest for it
        try:
            wait_for(lambda: _stored(restarted) == dict.fromkeys(names, 300), 240, "every window of 20 devices")
            reliability.record("a backlog of 20 devices × 300 windows, the dashboard stopped midway and started "
                               "again", "every window stored exactly once (a persistent session under a stable "
                               "client id)", "6,000 of 6,000 stored, 300 per device, none twice")
        finally:
            restarted.config["INGEST"].stop()
    finally:
        devices.close()


def test_while_the_database_refuses_writes_nothing_is_acknowledged_and_nothing_lost(tmp_path, up_broker,
                                                                                    reliability):
    app = create_app(_config(tmp_path, up_broker.port, local_device_id="room-1"))
    client = app.test_client()
    devices = Devices(up_broker.port)
    start = time.time() - 3000
    try:
        _subscribed(app, up_broker.port)
        devices.send("room-1", range(1, 11), start)
        wait_for(lambda: _stored(app).get("room-1") == 10, 30, "the first windows")
        assert client.get("/healthz").status_code == 200
        lock = sqlite3.connect(tmp_path / "dash.db", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the database: every write fails
        try:
            devices.send("room-1", range(11, 61), start)  # acknowledged by the broker: its to keep
            wait_for(lambda: client.get("/healthz").status_code == 429, 30, "health to say degraded")
            body = client.get("/healthz").get_json()
            assert body["status"] == "degraded" and any("storing" in p for p in body["problems"])
            time.sleep(3)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        wait_for(lambda: _stored(app).get("room-1") == 60, 90, "every window once the database is back")
        wait_for(lambda: client.get("/healthz").status_code == 200, 30, "health back to ok")
        with app.config["SESSIONS"]() as db:
            assert sorted(db.scalars(select(WindowRecord.seq))) == list(range(1, 61))
        assert app.config["METRICS"].errors >= 1
        reliability.record("the dashboard's database locked by another process for about 10 s while 50 windows "
                           "arrive", "a message is acknowledged to the broker only once stored: nothing lost; "
                           "/healthz says degraded meanwhile",
                           f"failed attempts: {app.config['METRICS'].errors}; /healthz 429 with the reason, then "
                           "60 of 60 windows stored once; /healthz 200 again")
    finally:
        devices.close()
        app.config["INGEST"].stop()


def test_the_dashboard_stops_cleanly_on_sigterm(tmp_path, up_broker, reliability):
    port = free_port()
    dashboard = subprocess.Popen([sys.executable, "-m", "dashboard", "--host", "127.0.0.1", "--port", str(port),
                                  "--mqtt-host", "127.0.0.1", "--mqtt-port", str(up_broker.port),
                                  "--database-url", f"sqlite:///{tmp_path / 'dash.db'}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def health():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            return None
    try:
        wait_for(lambda: (health() or {}).get("status") == "ok" or dashboard.poll() is not None, 30, "healthz ok")
        assert dashboard.poll() is None
    finally:
        dashboard.send_signal(signal.SIGTERM)
        output = dashboard.communicate(timeout=30)[0]
    assert dashboard.returncode == 0, output[-2000:]
    assert "SIGTERM: stopping" in output and "dashboard stopped" in output and "Traceback" not in output
    reliability.record("SIGTERM to the dashboard", "the message being stored is finished, the database closed, "
                       "exit 0", "exit 0, no traceback")
