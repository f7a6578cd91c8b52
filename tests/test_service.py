"""The daemon as systemd and Prometheus see it: sd_notify messages on a test socket, /metrics and
/healthz over HTTP, a hung model, a stalled camera, SIGTERM and SIGHUP."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import yaml
from prometheus_client.parser import text_string_to_metric_families

from edge.appliance import Appliance
from edge.capture.capture import Capture
from edge.config import Config
from edge.inference import ExpressionClassifier
from edge.paths import REPO_ROOT
from edge.storage.store import Store
from tests.mjpeg_server import MjpegServer, free_port
from tests.mqtt_helpers import Consumer, wait_for
from tests.test_run_cli import hermetic_env


class NotifySocket:
    """The receiving end of sd_notify: what systemd would be told, with arrival times."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._open = True
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while self._open:
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, OSError):
                continue
            now = time.monotonic()
            self.received.extend((now, line) for line in data.decode().splitlines())

    def lines(self, prefix: str, since: float = 0.0) -> list[str]:
        return [line for at, line in list(self.received) if line.startswith(prefix) and at >= since]

    def close(self) -> None:
        self._open = False
        self.sock.close()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _scrape(port: int) -> dict[str, float]:
    """Every sample, keyed like `name{label:value}`; checks that every lsi_edge_ family is documented."""
    status, text = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    families = list(text_string_to_metric_families(text))
    documented = (REPO_ROOT / "docs" / "service.md").read_text()
    for family in families:
        exposed = family.name + ("_total" if family.type == "counter" else "")
        assert not family.name.startswith("lsi_edge_") or f"`{exposed}" in documented, f"{exposed} not in docs"
    return {sample.name + json.dumps(sample.labels, sort_keys=True).replace('"', "").replace(" ", ""): sample.value
            for family in families for sample in family.samples}


def _running(cfg: Config) -> tuple[Appliance, threading.Thread]:
    """An appliance running in a thread of the test's, on a real-time source."""
    appliance = Appliance(cfg)
    thread = threading.Thread(target=appliance.run, args=(Capture(cfg.source, cfg.processing.fps, True),),
                              daemon=True)
    thread.start()
    return appliance, thread


def test_metrics_and_healthz_move_as_frames_are_processed(tmp_path, broker):
    cfg = Config.model_validate({"device_id": "room-m", "source": {"uri": "demo:640x360:8:600"},
                                 "mqtt": {"host": "127.0.0.1", "port": broker.port},
                                 "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}, "health": {"port": 0}})
    appliance, thread = _running(cfg)
    try:
        wait_for(lambda: appliance.health_server is not None and appliance.pipeline.stats.frames >= 8, 30, "frames")
        port = appliance.health_server.port
        first = _scrape(port)
        wait_for(lambda: appliance.feed.windows >= 2 and appliance.link.published >= 2, 30, "published windows")
        second = _scrape(port)
    finally:
        appliance.stop()
        thread.join(timeout=30)
    for name in ("lsi_edge_frames_processed_total{}", "lsi_edge_faces_classified_total{}",
                 "lsi_edge_stage_seconds_count{stage:detect}", "lsi_edge_classifier_seconds_per_face_count{}",
                 "lsi_edge_windows_total{}", "lsi_edge_mqtt_messages_acknowledged_total{}"):
        assert second[name] > first.get(name, 0), name
    assert second["lsi_edge_frames_per_second{}"] > 2
    assert second["lsi_edge_mqtt_connected{}"] == 1 and second["lsi_edge_source_up{}"] == 1
    assert second["lsi_edge_faces_present{}"] > 0 and second["lsi_edge_healthy{}"] == 1
    for name in ("lsi_edge_frames_dropped_total{reason:pacing}", "lsi_edge_frames_dropped_total{reason:error}",
                 "lsi_edge_source_reconnects_total{}", "lsi_edge_outbox_messages{}", "lsi_edge_commands_total{result:rejected}",
                 "lsi_edge_windows_suppressed_total{}", "process_start_time_seconds{}"):
        assert name in second, name
    stats = appliance.health.stats()  # the MQTT health figures: the last minute, not the lifetime
    assert stats["fps"] > 2 and stats["ms_per_frame"]["detect"] > 0 and stats["inference_ms_per_face"] > 0


class HangingClassifier:
    """The shipped model, except that predict() blocks while `hang` is set: a hung inference."""

    def __init__(self):
        self.model = ExpressionClassifier.load()
        self.hang, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name):
        return getattr(self.model, name)

    def predict(self, crops):
        if self.hang.is_set():
            self.release.wait()
        return self.model.predict(crops)


def test_watchdog_pings_while_alive_and_stops_when_the_model_hangs(tmp_path, monkeypatch):
    notifications = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", notifications.path)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    cfg = Config.model_validate({"source": {"uri": "demo:640x360:8:600", "stall_seconds": 2},
                                 "mqtt": {"enabled": False}, "health": {"port": 0},
                                 "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}})
    classifier = HangingClassifier()
    appliance = Appliance(cfg, classifier)
    thread = threading.Thread(target=appliance.run, args=(Capture(cfg.source, cfg.processing.fps, True),),
                              daemon=True)
    thread.start()
    try:
        wait_for(lambda: notifications.lines("READY=1"), 30, "READY=1")
        ready = time.monotonic()
        wait_for(lambda: len(notifications.lines("WATCHDOG=1", since=ready)) >= 4, 10, "regular WATCHDOG=1")
        assert _get(f"http://127.0.0.1:{appliance.health_server.port}/healthz")[0] == 200
        classifier.hang.set()
        time.sleep(appliance.health.hang_seconds + 2.0)
        quiet_since = time.monotonic() - 1.5
        assert not notifications.lines("WATCHDOG=1", since=quiet_since), "the watchdog was fed by a hung pipeline"
        status, body = _get(f"http://127.0.0.1:{appliance.health_server.port}/healthz")
        assert status == 503 and "stuck" in json.loads(body)["summary"]
        assert any("stuck" in line for line in notifications.lines("STATUS="))
    finally:
        classifier.release.set()
        appliance.stop()
        thread.join(timeout=30)
        notifications.close()


def _daemon(tmp_path, config: dict, notify_path, *extra: str) -> subprocess.Popen:
    path = tmp_path / "edge.yaml"
    path.write_text(yaml.safe_dump(config))
    log = open(tmp_path / "daemon.log", "w")
    return subprocess.Popen([sys.executable, "-m", "edge.cli", "run", "--config", str(path), *extra], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=log,
                            env=hermetic_env(tmp_path, NOTIFY_SOCKET=str(notify_path), WATCHDOG_USEC="2000000",
                                             PYTHONUNBUFFERED="1"))


def test_a_stalled_camera_is_reported_and_the_daemon_exits_non_zero_after_give_up_seconds(tmp_path):
    camera = MjpegServer(free_port(), fps=10)
    camera.start()
    notifications = NotifySocket(tmp_path / "notify.sock")
    config = {"source": {"uri": camera.url, "stall_seconds": 1, "give_up_seconds": 6,
                         "reconnect_initial_seconds": 0.2, "reconnect_max_seconds": 1},
              "mqtt": {"enabled": False}, "health": {"port": 0},
              "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}}
    daemon = _daemon(tmp_path, config, notifications.path)
    try:
        wait_for(lambda: notifications.lines("READY=1"), 60, "READY=1")
        camera.stop()
        stalled = time.monotonic()
        assert daemon.wait(timeout=40) == 1
        waited = time.monotonic() - stalled
        assert 6 <= waited < 30, waited
        assert any("source down" in line for line in notifications.lines("STATUS=")), notifications.received
        assert "giving up" in (tmp_path / "daemon.log").read_text()
    finally:
        if daemon.poll() is None:
            daemon.kill()
        notifications.close()
        camera.stop()


def test_sighup_reloads_a_valid_configuration_and_sigterm_stops_cleanly(tmp_path, broker):
    consumer = Consumer(broker.port, client_id="signals-consumer")
    wait_for(lambda: consumer.client.is_connected(), 10, "consumer")
    notifications = NotifySocket(tmp_path / "notify.sock")
    config = {"device_id": "room-1", "source": {"uri": "demo:640x360:8:600"},
              "mqtt": {"host": "127.0.0.1", "port": broker.port}, "health": {"port": 0},
              "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}}
    daemon = _daemon(tmp_path, config, notifications.path, "--realtime")
    log = tmp_path / "daemon.log"
    try:
        wait_for(lambda: notifications.lines("READY=1"), 60, "READY=1")
        (tmp_path / "edge.yaml").write_text("processing:\n  fps: -1\n")  # a bad edit: kept out
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "keeping the running configuration" in log.read_text(), 10, "the refusal")
        assert "processing.fps" in log.read_text() and daemon.poll() is None
        (tmp_path / "edge.yaml").write_text(yaml.safe_dump({**config, "device_id": "room-2"}))
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: len(consumer.payloads("aggregate")) and
                 consumer.payloads("aggregate")[-1]["device_id"] == "room-2", 40, "windows from the reloaded device")
        assert notifications.lines("RELOADING=1") and len(notifications.lines("READY=1")) == 2
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert notifications.lines("STOPPING=1")
    wait_for(lambda: [t for t, p, _ in consumer.messages if t == "lsi/room-2/availability" and p == b"stopped"], 10,
             "the stopped announcement")
    stored = Store(f"sqlite:///{tmp_path / 'edge.db'}", "room-2")
    expected = [w["seq"] for w in stored.windows()]
    received = {a["seq"] for a in consumer.payloads("aggregate") if a["device_id"] == "room-2"}
    assert expected and set(expected) <= received and stored.outbox_depth() == 0  # no window lost
    consumer.close()
    notifications.close()


def test_the_verdict_behind_healthz_and_the_watchdog(tmp_path):
    """Starting, processing, reconnecting within patience, giving up, stuck: on a clock of the test's."""
    cfg = Config.model_validate({"source": {"uri": "http://127.0.0.1:9/camera.mjpg", "give_up_seconds": 60},
                                 "mqtt": {"enabled": False}, "storage": {"url": f"sqlite:///{tmp_path / 'e.db'}"}})
    health = Appliance(cfg).health
    now = [1000.0]
    health.clock = lambda: now[0]
    capture = Capture(cfg.source, cfg.processing.fps, realtime=True)  # live, never opened: state "starting"
    health.start(capture)

    def at(seconds, state):
        now[0], capture.status.state = 1000.0 + seconds, state
        return health.verdict()

    assert at(20, "starting").alive and not at(20, "starting").ready
    assert at(20, "up").alive and "starting" in at(20, "up").summary  # models warm up; the start timeout bounds it
    verdict = at(40, "down")
    assert verdict.alive and not verdict.give_up and "reconnecting" in verdict.summary
    assert verdict.status == "degraded" and verdict.problems == ("source down",)  # alive: the watchdog is fed
    verdict = at(61, "down")
    assert verdict.give_up and not verdict.alive
    now[0] = 1070.0
    health.frame_done()
    assert at(72, "up").alive and at(72, "up").ready and "processing" in at(72, "up").summary
    verdict = at(90, "up")  # the source delivers, nothing is processed: a hung pipeline
    assert not verdict.alive and not verdict.give_up and "stuck" in verdict.summary
    assert at(90, "down").alive and at(131, "down").give_up  # patience counts from the last processed frame


def test_healthz_says_degraded_with_the_reason_while_the_broker_is_down(tmp_path, broker, reliability):
    cfg = Config.model_validate({"device_id": "room-h", "source": {"uri": "demo:640x360:6:600"},
                                 "mqtt": {"host": "127.0.0.1", "port": broker.port, "reconnect_max_seconds": 1},
                                 "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}, "health": {"port": 0}})
    appliance, thread = _running(cfg)
    try:
        wait_for(lambda: appliance.health_server is not None and appliance.link.connected
                 and appliance.pipeline.stats.frames >= 4, 30, "a connected, processing box")
        url = f"http://127.0.0.1:{appliance.health_server.port}/healthz"
        assert _get(url)[0] == 200 and json.loads(_get(url)[1])["status"] == "ok"
        broker.stop()
        wait_for(lambda: _get(url)[0] == 429, 30, "degraded")
        body = json.loads(_get(url)[1])
        assert body["status"] == "degraded" and "unreachable" in body["problems"][0]
        assert _scrape(appliance.health_server.port)["lsi_edge_degraded{}"] == 1
        assert appliance.health.state()["health"] == "degraded"  # what the retained state will say
        assert appliance.health.verdict().alive  # not dead: the watchdog keeps being fed
        broker.start()
        wait_for(lambda: _get(url)[0] == 200, 30, "ok again after the reconnect")
        reliability.record("the broker stopped under a running appliance", "/healthz degraded (429) with the reason, "
                           "the MQTT state says so, the watchdog keeps being fed; ok again after the reconnect",
                           f"429 {{\"status\": \"degraded\", \"problems\": [\"{body['problems'][0]}\"]}}; "
                           "200 after the broker came back")
    finally:
        appliance.stop()
        thread.join(timeout=30)
