"""A full disk does not stop the feed: windows keep flowing live over MQTT and stdout, marked not
stored; health says why within a window; storing resumes by itself when space returns, every
window kept in memory is stored with its number; stopping meanwhile ends cleanly.

The full disk is SQLite's own: `PRAGMA max_page_count` caps the database at its size, and every
write that needs a page more fails with "database or disk is full", as on a full file system."""

import json
import threading

from sqlalchemy import event

from edge.appliance import Appliance
from edge.capture.capture import Capture
from edge.config import Config
from edge.sinks import JsonLinesSink
from edge.storage.store import Store
from tests.mqtt_helpers import Consumer, wait_for


class Lines:
    def __init__(self):
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass


def test_a_full_disk_does_not_stop_the_feed_and_storing_resumes(tmp_path, broker, reliability):
    consumer = Consumer(broker.port, client_id="full-disk-consumer", topic="lsi/room-f/#")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    cfg = Config.model_validate({"device_id": "room-f", "source": {"uri": "demo:640x360:6:3600"},
                                 "mqtt": {"host": "127.0.0.1", "port": broker.port, "state_seconds": 1},
                                 "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}, "health": {"port": 0}})
    stdout = Lines()
    appliance = Appliance(cfg, extra_sinks=[JsonLinesSink(stdout)])
    pages = {"max": 2**30}
    event.listen(appliance.store.engine, "checkout",
                 lambda connection, _record, _proxy: connection.execute(f"PRAGMA max_page_count = {pages['max']}"))
    thread = threading.Thread(target=appliance.run, args=(Capture(cfg.source, cfg.processing.fps, False),),
                              daemon=True)
    thread.start()
    store, feed, health = appliance.store, appliance.feed, appliance.health
    try:
        wait_for(lambda: len(store.windows()) >= 3, 60, "stored windows")
        pages["max"] = 1  # the disk is full: no page more (rows still fit in the last pages' free room)
        wait_for(lambda: feed.store_error, 60, "a window that cannot be stored")
        verdict = health.verdict()  # at the first window that cannot be stored
        assert verdict.status == "degraded" and "full" in verdict.summary and verdict.alive
        wait_for(lambda: len(feed.unsaved) >= 3, 60, "more windows while the disk is full")
        kept = {payload["seq"] for _, payload in list(feed.unsaved)}

        def published_live() -> set[int]:
            live = [json.loads(p) for t, p, _ in list(consumer.messages) if t.endswith("/aggregate")]
            return {message["seq"] for message in live if message.get("stored") is False}
        wait_for(lambda: kept <= published_live(), 10, "the kept windows published live, marked")
        wait_for(lambda: sum('"stored": false' in line for line in list(stdout.lines)) >= 3, 10,
                 "the kept windows printed, marked")
        assert health.state()["health"] == "degraded"
        most_kept = len(feed.unsaved)

        pages["max"] = 2**30  # space is freed
        wait_for(lambda: feed.all_stored and feed.store_error is None, 30, "storing to resume by itself")
        assert health.verdict().status == "ok"
        appliance.stop()  # what SIGTERM does
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        appliance.stop()
        thread.join(timeout=30)
        consumer.close()
    stored = [w["seq"] for w in Store(cfg.storage.url, "room-f").windows()]
    assert stored == list(range(1, len(stored) + 1)) and len(stored) == feed.windows  # none lost, in order
    reliability.record("a full disk under the appliance's database (SQLite's max_page_count)",
                       "windows keep flowing live over MQTT and stdout, marked \"stored\": false; health degraded "
                       "with the reason; kept in memory and stored when space returns; stopping ends cleanly",
                       f"{most_kept} windows kept at most, each published live and printed marked; health "
                       f"\"degraded: storing fails (database or disk is full)\"; after space returned all "
                       f"{len(stored)} windows stored, seq 1..{len(stored)} without a gap; the run ended normally")


def test_sigterm_while_the_disk_is_full_exits_0(tmp_path, reliability):
    """A real SIGTERM to `lsi-edge run --print` whose database cannot grow: stdout went on, marked, and
    the daemon ends cleanly, saying how many windows it could not store."""
    import signal
    import subprocess
    import sys

    from tests.test_run_cli import hermetic_env

    pages, config = tmp_path / "pages", tmp_path / "edge.yaml"
    config.write_text(f"mqtt:\n  enabled: false\nhealth:\n  port: 0\nstorage:\n  url: sqlite:///{tmp_path / 'e.db'}\n")
    process = subprocess.Popen([sys.executable, "-m", "tests.full_disk_cli", str(pages), "run", "--config",
                                str(config), "--source", "demo:640x360:6:3600", "--no-realtime", "--print"],
                               cwd=tmp_path, env=hermetic_env(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: len(lines) >= 2 or process.poll() is not None, 120, "printed windows")
        pages.write_text("1")
        wait_for(lambda: sum('"stored": false' in line for line in list(lines)) >= 2 or process.poll() is not None,
                 60, "windows printed as not stored")
    finally:
        process.send_signal(signal.SIGTERM)
        stderr = process.communicate(timeout=60)[1]
    reader.join(timeout=10)
    assert process.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr and "storing failed (database or disk is full)" in stderr
    assert "messages the store could not take (database or disk is full)" in stderr
    marked = sum('"stored": false' in line for line in lines)
    assert marked >= 2
    reliability.record("SIGTERM to `lsi-edge run --print` while its database cannot grow (a full disk)",
                       "exit 0 whatever the store's state; what could not be stored is said",
                       f"exit 0, no traceback; {marked} windows printed marked \"stored\": false; the last log "
                       "line names the messages the store could not take")
