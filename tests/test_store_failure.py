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
