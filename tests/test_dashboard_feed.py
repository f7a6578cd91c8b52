"""The dashboard's feed against a real Mosquitto: a restart loses nothing."""

import time

from dashboard import create_app
from dashboard.config import DashboardConfig
from dashboard.models import WindowRecord
from tests.mqtt_helpers import Broker, Consumer, aggregate_payload, wait_for


def _stored(app, device: str) -> int:
    with app.config["SESSIONS"]() as db:
        return db.query(WindowRecord).filter_by(device_id=device).count()


def test_windows_sent_while_the_dashboard_is_stopped_are_stored_after_its_restart(tmp_path):
    broker = Broker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                          mqtt_host="127.0.0.1", mqtt_port=broker.port, local_device_id="room-9")  # approved
    device = Consumer(broker.port, topic="nothing/#", client_id="room-9-appliance")
    start = time.time() - 3600
    app = create_app(cfg)
    try:
        wait_for(lambda: app.config["INGEST"].connected and device.client.is_connected(), 15, "connections")
        device.publish("lsi/room-9/aggregate", aggregate_payload("room-9", 1, 60.0, start))
        wait_for(lambda: _stored(app, "room-9") == 1, 15, "the first window")
        app.config["INGEST"].stop()  # the dashboard is down (e.g. being upgraded)

        for seq in range(2, 52):
            device.publish("lsi/room-9/aggregate", aggregate_payload("room-9", seq, 60.0, start + 5 * seq))
        restarted = create_app(cfg)  # same configuration, so the same client id and broker session
        try:
            wait_for(lambda: _stored(restarted, "room-9") == 51, 30, "the 50 windows sent while it was stopped")
        finally:
            restarted.config["INGEST"].stop()
    finally:
        device.close()
        broker.stop()
