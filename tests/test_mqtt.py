"""The MQTT feed against a real Mosquitto: topics, schemas, outages, crashes, hostile commands."""

import json
import signal
import subprocess
import sys
import threading
import time

import yaml

from edge.appliance import Appliance
from edge.capture.capture import Capture
from edge.config import Config
from edge.mqtt.link import MqttLink
from edge.storage.store import Store
from lsi_contract.credentials import write_token
from tests.mqtt_helpers import Consumer, validate, wait_for
from tests.test_run_cli import hermetic_env

DEVICE = "room-101"


def _config(tmp_path, port: int, source: str, **mqtt) -> Config:
    return Config.model_validate({
        "device_id": DEVICE,
        "source": {"uri": source},
        "mqtt": {"host": "127.0.0.1", "port": port, "stats_seconds": 1, "state_seconds": 1,
                 "reconnect_max_seconds": 2, **mqtt},
        "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"},
        "health": {"port": 0},
    })


def _start(appliance: Appliance, cfg: Config, realtime: bool) -> threading.Thread:
    capture = Capture(cfg.source, cfg.processing.fps, realtime)
    thread = threading.Thread(target=appliance.run, args=(capture,), daemon=True)
    thread.start()
    return thread


def test_every_topic_and_payload_as_documented(tmp_path, broker):
    consumer = Consumer(broker.port, client_id="doc-consumer", topic="#")
    cfg = _config(tmp_path, broker.port, "demo:1280x720:8:14", home_assistant=True)
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    appliance = Appliance(cfg)
    thread = _start(appliance, cfg, realtime=True)
    base = f"lsi/{DEVICE}"
    wait_for(lambda: appliance.link.connected, 10, "appliance connection")
    token = appliance.commands.token()
    consumer.publish(f"{base}/cmd/session/start", json.dumps({"label": "Maths 7B", "request_id": "r1", "token": token}))
    consumer.publish(f"{base}/cmd/segment/start", json.dumps({"type": "lecture", "label": "fractions",
                                                               "request_id": "r2", "token": token}))
    thread.join(timeout=60)
    assert not thread.is_alive()
    wait_for(lambda: b"stopped" in consumer.raw("availability"), 10, "stopped")
    consumer.close()

    assert consumer.raw("availability")[0] == b"online" and consumer.raw("availability")[-1] == b"stopped"
    results = consumer.payloads("cmd/result")
    assert [(r["request_id"], r["ok"]) for r in results] == [("r1", True), ("r2", True)]
    aggregates = consumer.payloads("aggregate")
    assert len(aggregates) >= 2
    assert [a["seq"] for a in aggregates] == list(range(1, len(aggregates) + 1))
    assert any(a["lsi"] is not None and a["session_id"] for a in aggregates)
    assert any(a["segment"] and a["segment"]["kind"] == "lecture" for a in aggregates)
    segments = consumer.payloads("segment")
    assert segments and segments[-1]["kind"] == "lecture" and segments[-1]["label"] == "fractions"
    states, stats = consumer.payloads("state"), consumer.payloads("stats")
    assert states and stats
    assert any(s["session"] and s["session"]["state"] == "recording" for s in states)
    for name, items in (("aggregate", aggregates), ("segment", segments), ("state", states),
                        ("stats", stats), ("cmd-result", results)):
        for item in items:
            validate(name, item)
    discovery = [t for t, _, retained in consumer.messages if t.startswith("homeassistant/sensor/")]
    assert f"homeassistant/sensor/{DEVICE}/lsi/config" in discovery  # node id = device id (its ACL)
    # What the broker keeps for late subscribers: the last state and the availability.
    late = Consumer(broker.port, client_id="late-consumer")
    wait_for(lambda: late.raw("state") and late.raw("availability"), 10, "retained messages")
    assert late.raw("availability")[-1] == b"stopped"
    late.close()


def test_broker_down_for_a_minute_loses_no_window(tmp_path, broker, reliability):
    outage = 300 if reliability.full else 60
    consumer = Consumer(broker.port, client_id="outage-consumer")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    cfg = _config(tmp_path, broker.port, f"demo:640x360:6:{outage + 20}")
    appliance = Appliance(cfg)
    thread = _start(appliance, cfg, realtime=True)
    wait_for(lambda: len(consumer.payloads("aggregate")) >= 2, 30, "first windows")
    broker.stop()
    time.sleep(outage)
    kept = appliance.store.outbox_depth()
    assert kept >= outage // 5 - 2  # windows kept while the broker was away
    broker.start()
    thread.join(timeout=90)
    stored = Store(cfg.storage.url, DEVICE)
    expected = [w["seq"] for w in stored.windows()]
    wait_for(lambda: {a["seq"] for a in consumer.payloads("aggregate")} >= set(expected), 30, "replay")
    consumer.close()
    received = [a["seq"] for a in consumer.payloads("aggregate")]
    deduplicated = list(dict.fromkeys(received))
    assert deduplicated == expected == list(range(1, len(expected) + 1))  # all, in order, no gap
    assert len(expected) >= outage // 5
    assert stored.outbox_depth() == 0
    reliability.record(f"broker stopped for {outage} s during a run", "every window arrives once the broker is "
                       "back, in order, none lost (de-duplicated by seq)",
                       f"{kept} windows waited in the outbox; {len(expected)} of {len(expected)} arrived, in order, "
                       f"{len(received) - len(deduplicated)} twice (a lost PUBACK), outbox empty after")


def _run_subprocess(tmp_path, config_path, *extra):
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "--config", str(config_path), *extra],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=hermetic_env(tmp_path, PYTHONUNBUFFERED="1"))


def test_sigkill_then_restart_delivers_every_stored_window(tmp_path, broker, reliability):
    cfg = _config(tmp_path, broker.port, "demo:640x360:6:600")
    config_path = tmp_path / "edge.yaml"
    config_path.write_text(yaml.safe_dump(json.loads(cfg.model_dump_json())))
    broker.stop()  # windows can only pile up in the outbox
    daemon = _run_subprocess(tmp_path, config_path, "--no-realtime")
    store = Store(cfg.storage.url, DEVICE)
    wait_for(lambda: len(store.windows()) >= 5, 120, "stored windows")
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=10)
    stored = [w["seq"] for w in Store(cfg.storage.url, DEVICE).windows()]
    assert stored and Store(cfg.storage.url, DEVICE).outbox_depth() >= len(stored)

    broker.start()
    consumer = Consumer(broker.port, client_id="crash-consumer")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    restarted = _run_subprocess(tmp_path, config_path, "--realtime")
    try:
        wait_for(lambda: {a["seq"] for a in consumer.payloads("aggregate")} >= set(stored), 60, "replay")
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
        consumer.close()
    received = list(dict.fromkeys(a["seq"] for a in consumer.payloads("aggregate")))
    assert received[:len(stored)] == stored  # the backlog first, in order
    assert received == list(range(1, len(received) + 1))  # and seq keeps counting after the crash
    reliability.record("SIGKILL of the appliance while windows pile up (broker away), then a restart",
                       "every stored window is delivered after the restart, oldest first; seq continues",
                       f"{len(stored)} stored before the kill, all delivered first and in order; {len(received)} "
                       "windows in all, seq 1.. without a gap")


def test_2000_commands_at_once_are_each_answered_and_the_daemon_keeps_running(tmp_path, broker, reliability):
    consumer = Consumer(broker.port, client_id="hostile-consumer", topic=f"lsi/{DEVICE}/cmd/result")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    cfg = _config(tmp_path, broker.port, "demo:640x360:6:600")
    appliance = Appliance(cfg)
    thread = _start(appliance, cfg, realtime=True)
    wait_for(lambda: appliance.link.connected, 10, "appliance connection")
    base = f"lsi/{DEVICE}/cmd"
    hostile = [
        (f"{base}/session/start", b"{not json"),
        (f"{base}/session/start", b"\xff\xfe\x00binary"),
        (f"{base}/session/start", json.dumps({"label": 42}).encode()),
        (f"{base}/session/start", json.dumps({"label": "x" * 100_000}).encode()),
        (f"{base}/segment/start", json.dumps({"type": "party"}).encode()),
        (f"{base}/segment/start", json.dumps({"type": "lecture", "evil": True}).encode()),
        (f"{base}/segment/start", b"[1, 2, 3]"),
        (f"{base}/session/stop", b"{}"),  # no session running
        (f"{base}/format/disk", b"{}"),
        (f"{base}/" + "a" * 300, b"{}"),
        (f"{base}/segment/start", json.dumps({"type": "quiz", "token": appliance.commands.token()}).encode()),
    ]
    for k in range(2000):  # sent at once: none may be lost between the broker and the box
        topic, payload = hostile[k % len(hostile)]
        consumer.client.publish(topic, payload, qos=1)
    wait_for(lambda: len(consumer.raw("cmd/result")) >= 2000, 180, "2000 answers")
    results = consumer.payloads("cmd/result")
    assert len(results) == 2000 and sum(r["ok"] for r in results) == 2000 // len(hostile)
    assert all(r["error"] for r in results if not r["ok"])
    for result in results:
        validate("cmd-result", result)
    assert thread.is_alive() and appliance.commands.rejected_total + appliance.commands.accepted == 2000
    reliability.record("2,000 commands sent at once (11 kinds, 10 hostile)", "every command is answered, valid or "
                       "not; the box keeps processing frames",
                       f"2,000 answers: {appliance.commands.accepted} accepted, {appliance.commands.rejected_total} "
                       f"refused with a reason ({', '.join(sorted(appliance.commands.rejected))})")
    frames = appliance.pipeline.stats.frames
    consumer.publish(f"{base}/session/start", json.dumps({"label": "still alive", "request_id": "ok",
                                                          "token": appliance.commands.token()}))
    wait_for(lambda: any(r.get("request_id") == "ok" and r["ok"] for r in consumer.payloads("cmd/result")), 10,
             "valid command answered")
    wait_for(lambda: appliance.pipeline.stats.frames > frames, 10, "frames still processed")
    appliance.stop()
    thread.join(timeout=30)
    consumer.close()


def test_commands_need_the_box_s_token_made_on_first_start_and_rotated_at_once(tmp_path, broker, data_dir):
    cfg = _config(tmp_path, broker.port, "demo:640x360:6:600")
    appliance = Appliance(cfg)
    token_file = data_dir / "command-token"
    assert token_file.stat().st_mode & 0o777 == 0o600  # readable by the service only
    token = token_file.read_text().strip()
    assert len(token) >= 32
    refused = appliance.commands.handle("session/start", b'{"label": "a"}')
    assert not refused["ok"] and refused["error"].startswith("unauthorised")
    assert "unauthorised" in appliance.commands.handle("session/start", b'{"token": "nope"}')["error"]
    assert appliance.commands.rejected == {"unauthorised": 2}
    assert appliance.commands.handle("session/start", json.dumps({"token": token, "label": "a"}).encode())["ok"]

    rotated = write_token(token_file)  # what `lsi-edge token --rotate` does
    assert not appliance.commands.handle("session/stop", json.dumps({"token": token}).encode())["ok"]
    assert appliance.commands.handle("session/stop", json.dumps({"token": rotated}).encode())["ok"]
    assert Appliance(cfg).commands.token() == rotated  # kept across restarts


def test_a_deeply_nested_command_does_not_silence_the_box(tmp_path, broker):
    """2 KB of nested JSON overflowed the parser's recursion in paho's network thread: the daemon
    kept storing but answered and published nothing more. It must be answered like any bad command."""
    consumer = Consumer(broker.port, client_id="nested-consumer")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    cfg = _config(tmp_path, broker.port, "demo:640x360:6:600")
    appliance = Appliance(cfg)
    thread = _start(appliance, cfg, realtime=True)
    wait_for(lambda: appliance.link.connected, 10, "appliance connection")
    base = f"lsi/{DEVICE}/cmd"
    for nested in (b"[" * 1024 + b"]" * 1024, b'{"request_id": "x", "label": ' + b"[" * 1500 + b"]" * 1500 + b"}"):
        consumer.publish(f"{base}/session/start", nested)
    wait_for(lambda: len(consumer.payloads("cmd/result")) == 2, 10, "answers to the nested commands")
    assert not any(r["ok"] for r in consumer.payloads("cmd/result"))
    windows = len(consumer.payloads("aggregate"))
    consumer.publish(f"{base}/session/start", json.dumps({"label": "after", "request_id": "next",
                                                          "token": appliance.commands.token()}))
    wait_for(lambda: any(r["request_id"] == "next" and r["ok"] for r in consumer.payloads("cmd/result")), 10,
             "the next valid command answered")
    wait_for(lambda: len(consumer.payloads("aggregate")) >= windows + 2, 30, "windows still published")
    appliance.stop()
    thread.join(timeout=30)
    consumer.close()


def test_an_exception_in_a_network_thread_callback_is_contained(tmp_path, broker):
    """Whatever a callback meets, paho's network thread survives it: later commands are answered."""
    consumer = Consumer(broker.port, client_id="faulty-handler-consumer", topic=f"lsi/{DEVICE}/cmd/result")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    cfg = _config(tmp_path, broker.port, "demo")
    store = Store(cfg.storage.url, DEVICE)

    def handler(name: str, payload: bytes) -> dict:
        if payload == b"boom":
            raise RuntimeError("a handler bug")
        return {"command": name, "request_id": None, "ok": True, "detail": "fine", "timestamp": time.time()}

    link = MqttLink(cfg.mqtt, DEVICE, store, handler)
    link.start()
    try:
        wait_for(lambda: link.connected, 10, "link connection")

        def failed() -> bool:
            # until the link's subscription is in place a command is not delivered: send it again
            if link.callback_errors == 0:
                consumer.publish(f"lsi/{DEVICE}/cmd/session/stop", b"boom")
            return link.callback_errors > 0

        wait_for(failed, 10, "the handler's failure")
        consumer.publish(f"lsi/{DEVICE}/cmd/session/stop", b"{}")
        wait_for(lambda: consumer.payloads("cmd/result"), 10, "the answer after the failure")
        assert link.callback_errors >= 1 and link.client.is_connected()
    finally:
        link.stop()
        consumer.close()


def test_broker_down_at_start_then_restarting_repeatedly_loses_no_window(tmp_path, broker, reliability):
    restarts = 10 if reliability.full else 4
    consumer = Consumer(broker.port, client_id="flapping-consumer")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    broker.stop()  # down when the box starts
    cfg = _config(tmp_path, broker.port, "demo:640x360:6:600")
    appliance = Appliance(cfg)
    thread = _start(appliance, cfg, realtime=False)
    wait_for(lambda: appliance.feed.windows >= 3, 60, "windows stored while no broker runs")
    broker.start()
    for _ in range(restarts):
        wait_for(lambda: appliance.link.connected, 30, "the box connected")
        published = appliance.link.published
        wait_for(lambda: appliance.link.published > published, 30, "something published")
        broker.stop()
        broker.start()
    wait_for(lambda: appliance.link.connected, 30, "the box connected")
    appliance.stop()
    thread.join(timeout=60)
    store = Store(cfg.storage.url, DEVICE)
    expected = [w["seq"] for w in store.windows()]
    pending = store.outbox_depth()  # stopped with these still to publish: they wait for the next start
    wait_for(lambda: len({a["seq"] for a in consumer.payloads("aggregate")}) >= len(expected) - pending, 60,
             "every window published")
    consumer.close()
    received = list(dict.fromkeys(a["seq"] for a in consumer.payloads("aggregate")))
    assert received == expected[:len(received)] and len(received) + pending >= len(expected)  # in order, none lost
    reliability.record(f"no broker when the box starts, then the broker restarted {restarts} times",
                       "every window arrives, in order, none lost (what is not yet published waits in the "
                       "outbox)", f"{len(received)} windows arrived in order, {pending} still in the outbox at "
                       f"the stop; {appliance.link.reconnects} reconnects")
