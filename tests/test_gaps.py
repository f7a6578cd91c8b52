"""Gaps found and filled: a volatile broker restarted while the dashboard was away loses the queue
kept for it; the dashboard finds the hole in what it stored and the box replays it from its store."""

import getpass
import shutil
import subprocess
import threading

from sqlalchemy import select

from dashboard import create_app
from dashboard.config import DashboardConfig
from dashboard.gaps import subtract
from dashboard.models import WindowRecord
from edge.appliance import Appliance
from edge.broker import broker_listening
from edge.capture.capture import Capture
from edge.config import Config
from lsi_contract.sequence import missing_ranges
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import wait_for


def test_ranges():
    assert missing_ranges([1, 2, 5, 9], 1, 10) == [(3, 4), (6, 8), (10, 10)]
    assert missing_ranges([], 3, 4) == [(3, 4)] and missing_ranges([3, 4], 3, 4) == []
    assert subtract((10, 20), [(12, 13), (18, 30)]) == [(10, 11), (14, 17)]


class VolatileBroker:
    """A Mosquitto that keeps nothing across a restart (persistence off): not the product's, a fault."""

    def __init__(self, folder):
        self.port, self.conf = free_port(), folder / "volatile.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
                             "persistence false\n")
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: broker_listening("127.0.0.1", self.port), 10, "the volatile broker")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def test_a_queue_lost_by_a_volatile_broker_is_found_and_replayed(tmp_path, reliability):
    broker = VolatileBroker(tmp_path)
    broker.start()
    device_cfg = Config.model_validate({
        "device_id": "room-v", "source": {"uri": "demo:640x360:6:3600"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "reconnect_max_seconds": 1},
        "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}, "health": {"port": 0}})
    appliance = Appliance(device_cfg)
    thread = threading.Thread(target=appliance.run, args=(Capture(device_cfg.source, 8.0, False),), daemon=True)
    thread.start()
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                          mqtt_host="127.0.0.1", mqtt_port=broker.port, mqtt_client_id="dashboard-v",
                          local_device_id="room-v", local_token_file=tmp_path / "data" / "command-token",
                          gap_check_seconds=1)

    def stored(app) -> list[int]:
        with app.config["SESSIONS"]() as db:
            return sorted(db.scalars(select(WindowRecord.seq).where(WindowRecord.device_id == "room-v")))

    app = create_app(cfg)
    restarted = None
    try:
        wait_for(lambda: len(stored(app)) >= 3, 60, "the first windows at the dashboard")
        app.config["INGEST"].stop()  # the dashboard is away; the broker queues its feed, in memory only
        published = appliance.link.published
        wait_for(lambda: appliance.link.published >= published + 3, 60, "windows the broker took meanwhile")
        broker.stop()  # … and loses them
        broker.start()
        wait_for(lambda: appliance.link.connected, 30, "the box back on the broker")
        before = len(stored(app))
        restarted = create_app(cfg)
        wait_for(lambda: len(stored(restarted)) > before + 3, 60, "new windows after the gap")
        first_gap = missing_ranges(stored(restarted), 1, max(stored(restarted)))
        assert first_gap, "the lost queue left a gap"

        def filled() -> bool:
            have = stored(restarted)
            box = {w["seq"] for w in appliance.store.windows()}
            return not [seq for seq in range(1, max(have) + 1) if seq in box and seq not in have]
        wait_for(filled, 60, "the replay to fill the gap")
        assert restarted.config["GAPS"].asked >= 1
        reliability.record("a volatile broker restarted while the dashboard was away: the queue kept for it "
                           "is lost", "the dashboard finds the gap in what it stored and asks the box to replay "
                           "it (cmd/replay), answered from the box's store",
                           f"gap of seq {', '.join(f'{a}–{b}' for a, b in first_gap)} found and filled after "
                           f"{restarted.config['GAPS'].asked} replay request(s); every window the box stored is at "
                           "the dashboard")
    finally:
        appliance.stop()
        thread.join(timeout=30)
        (restarted or app).config["INGEST"].stop()
        app.config["INGEST"].stop()
        broker.stop()
