"""Health of the running appliance: figures over the last minute (for the MQTT stats and state
topics), Prometheus metrics, the liveness verdict behind /healthz and the systemd watchdog, and
the HTTP server for /healthz and /metrics."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from edge.capture.capture import Capture, CaptureStatus
from edge.config import Config, HealthConfig
from edge.control import CommandTable
from edge.feed import FeedSink
from edge.mqtt.link import MqttLink
from edge.pipeline import Pipeline
from edge.sessions import Sessions
from edge.storage.store import Store
from lsi_contract.payloads import HEALTH_CODES, State, Stats, build

log = logging.getLogger("lsi_edge.health")
RECENT_SECONDS = 60.0  # health figures on MQTT describe the last minute, not the whole uptime
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PER_FACE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05)
disable_created_metrics()  # no `*_created` series: process_start_time_seconds says when counting began

BROKER_GRACE_SECONDS = 10.0  # the first connection may take this long before it counts as an outage

@dataclass(frozen=True)
class Verdict:
    alive: bool  # the main loop processes frames, or waits for a live source within its patience
    ready: bool  # frames have been processed since the start
    give_up: bool  # a live source has been away longer than source.give_up_seconds
    summary: str  # one line: systemd's STATUS= and /healthz
    problems: tuple[str, ...] = ()  # why it is degraded: alive, but something needs attention

    @property
    def status(self) -> str:
        """ok, degraded (alive: the watchdog is still fed) or failed."""
        return "failed" if not self.alive else "degraded" if self.problems else "ok"


@dataclass(frozen=True)
class _Sample:
    at: float
    frames: int
    faces_classified: int
    stage_seconds: dict[str, float]


class Health:
    def __init__(self, cfg: Config, pipeline: Pipeline, store: Store, link: MqttLink | None,
                 commands: CommandTable, sessions: Sessions, feed: FeedSink, clock=time.monotonic):
        self.cfg, self.pipeline, self.store, self.link = cfg, pipeline, store, link
        self.commands, self.sessions, self.feed, self.clock = commands, sessions, feed, clock
        self.capture: Capture | None = None
        self.started_at = time.time()
        self._started = clock()
        self.last_frame_at: float | None = None
        # A frame normally takes a fraction of a second; this long without one while the source
        # delivers means the pipeline is stuck (e.g. a hung model).
        self.hang_seconds = max(cfg.source.stall_seconds, 3.0 / cfg.processing.fps)
        self._lock = threading.Lock()
        self._samples: deque[_Sample] = deque()
        self._previous: _Sample | None = None
        self.registry = CollectorRegistry()
        self._stage_seconds = Histogram("lsi_edge_stage_seconds", "Time per processed frame in each pipeline stage",
                                        ["stage"], registry=self.registry, buckets=STAGE_BUCKETS)
        self._seconds_per_face = Histogram("lsi_edge_classifier_seconds_per_face",
                                           "Expression model time per face, per batch", registry=self.registry,
                                           buckets=PER_FACE_BUCKETS)
        ProcessCollector(registry=self.registry)
        self.registry.register(_Figures(self))

    def start(self, capture: Capture) -> None:
        self.capture = capture
        self._started = self.clock()

    # -- called by the pipeline's thread after every frame --------------------------------------
    def frame_done(self) -> None:
        stats = self.pipeline.stats
        sample = _Sample(self.clock(), stats.frames, stats.faces_classified, dict(stats.stage_seconds))
        previous = self._previous or _Sample(sample.at, 0, 0, dict.fromkeys(sample.stage_seconds, 0.0))
        for stage, total in sample.stage_seconds.items():
            spent = total - previous.stage_seconds.get(stage, 0.0)
            if spent > 0:
                self._stage_seconds.labels(stage).observe(spent)
        faces = sample.faces_classified - previous.faces_classified
        if faces > 0:
            classify = sample.stage_seconds["classify"] - previous.stage_seconds.get("classify", 0.0)
            self._seconds_per_face.observe(classify / faces)
        self._previous = sample
        with self._lock:
            self.last_frame_at = sample.at
            self._samples.append(sample)
            while self._samples[0].at < sample.at - RECENT_SECONDS:
                self._samples.popleft()

    # -- figures ----------------------------------------------------------------------------------
    @property
    def capture_status(self) -> CaptureStatus:
        return self.capture.status if self.capture is not None else CaptureStatus()

    def recent(self) -> dict:
        """fps, ms per frame by stage and ms per face over the last minute."""
        now = self.clock()
        with self._lock:
            samples = [s for s in self._samples if s.at >= now - RECENT_SECONDS]
        if len(samples) < 2:
            return {"fps": 0.0, "ms_per_frame": {}, "inference_ms_per_face": 0.0}
        first, last = samples[0], samples[-1]
        frames = last.frames - first.frames
        faces = last.faces_classified - first.faces_classified
        spent = {stage: last.stage_seconds[stage] - first.stage_seconds.get(stage, 0.0) for stage in last.stage_seconds}
        return {"fps": round(frames / max(now - first.at, 1e-6), 2),
                "ms_per_frame": {stage: round(seconds * 1000.0 / max(frames, 1), 3) for stage, seconds in spent.items()},
                "inference_ms_per_face": round(spent["classify"] * 1000.0 / max(faces, 1), 3)}

    def verdict(self) -> Verdict:
        """The pipeline's verdict, degraded by whatever else keeps data from flowing."""
        verdict = self._pipeline_verdict()
        problems = list(verdict.problems) + self._feed_problems()
        if not problems or not verdict.alive:
            return verdict
        return Verdict(True, verdict.ready, False, f"degraded: {'; '.join(problems)} ({verdict.summary})",
                       tuple(problems))

    def _feed_problems(self) -> list[str]:
        problems = []
        feed = self.feed
        if feed.store_error is not None:
            problems.append(f"storing fails ({feed.store_error}): {len(feed.unsaved)} messages kept in memory and "
                            "published live, stored once it works again")
        link = self.link
        if link is not None and not link.connected and self.clock() - self._started > BROKER_GRACE_SECONDS:
            problems.append(f"broker {self.cfg.mqtt.host}:{self.cfg.mqtt.port} unreachable: messages wait in "
                            "the outbox")
        age = self.store.oldest_pending_age()
        if age is not None and age > self.cfg.mqtt.max_backlog_seconds:
            problems.append(f"the oldest unsent message is {age:.0f} s old (mqtt.max_backlog_seconds "
                            f"{self.cfg.mqtt.max_backlog_seconds:g})")
        return problems

    def _pipeline_verdict(self) -> Verdict:
        now = self.clock()
        status = self.capture_status
        ready = self.last_frame_at is not None
        idle = now - (self.last_frame_at if ready else self._started)
        if idle <= self.hang_seconds:
            window = self.feed.last_window
            faces = "no window yet" if window is None else f"{window.faces:g} faces"
            return Verdict(True, ready, False, f"processing {self.recent()['fps']:g} fps, {faces}, source {status.state}")
        if status.state in ("starting", "down"):
            patience = self.cfg.source.give_up_seconds
            reason = f"source {status.state}" + (f" ({status.last_error})" if status.last_error else "")
            if self.capture is not None and self.capture.live and idle >= patience:
                return Verdict(False, ready, True, f"{reason}: no frame for {idle:.0f} s, giving up")
            return Verdict(True, ready, False, f"{reason}: no frame for {idle:.0f} s, reconnecting "
                                               f"(giving up after {patience:g} s)", (reason,))
        if not ready:  # the first frame warms the models up; systemd's start timeout bounds it
            return Verdict(True, False, False, f"starting: first frame for {idle:.0f} s, source {status.state}")
        return Verdict(False, ready, False, f"no frame processed for {idle:.0f} s while the source is "
                                            f"{status.state}: the pipeline is stuck")

    def _placement(self) -> dict | None:
        """The camera-placement verdict over the last minutes, only while the room stays unreadable
        (so that the dashboard can say why a room shows nothing); None otherwise."""
        verdict = self.pipeline.placement.standing_verdict()
        return None if verdict is None or verdict.good else verdict.to_dict()

    def state(self) -> dict:
        """…/state (retained)."""
        window, verdict = self.feed.last_window, self.verdict()
        return build(State, device_id=self.cfg.device_id, timestamp=time.time(), session=self.sessions.info(),
                     segment=self.pipeline.segments.info,
                     faces=None if window is None else window.faces,
                     faces_read=None if window is None else window.faces_read,
                     attention=None if window is None else window.attention,
                     lsi=None if window is None or window.suppressed else window.lsi,
                     placement=self._placement(), fps=self.recent()["fps"],
                     broker="connected" if self.link is not None and self.link.connected else "disconnected",
                     camera=self.capture_status.state, health=verdict.status, problems=list(verdict.problems))

    def stats(self) -> dict:
        """…/stats: counters since the start, rates over the last minute."""
        stats, status, recent = self.pipeline.stats, self.capture_status, self.recent()
        return build(Stats, device_id=self.cfg.device_id, timestamp=time.time(),
                     uptime_s=round(time.time() - self.started_at, 1), fps=recent["fps"], frames=stats.frames,
                     faces_classified=stats.faces_classified, inference_ms_per_face=recent["inference_ms_per_face"],
                     ms_per_frame=recent["ms_per_frame"], frame_errors=stats.frame_errors,
                     camera_state=status.state, camera_reconnects=status.reconnects,
                     broker_reconnects=self.link.reconnects if self.link is not None else 0,
                     published=self.link.published if self.link is not None else 0,
                     outbox_depth=self.store.outbox_depth(), outbox_given_up=self.store.given_up,
                     commands_ok=self.commands.accepted, commands_rejected=self.commands.rejected_total)


class _Figures(Collector):
    """Counters and gauges read from the components at scrape time (one source of truth each)."""

    def __init__(self, health: Health):
        self.health = health

    def collect(self):
        health = self.health
        stats, status, link = health.pipeline.stats, health.capture_status, health.link
        yield CounterMetricFamily("lsi_edge_frames_processed", "Frames through the pipeline", value=stats.frames)
        dropped = CounterMetricFamily("lsi_edge_frames_dropped", "Frames from the source not processed: skipped "
                                      "to keep the processing rate (pacing) or failed (error)", labels=["reason"])
        dropped.add_metric(["pacing"], max(0, status.frames_read + status.frames_skipped - stats.frames))
        dropped.add_metric(["error"], stats.frame_errors)
        yield dropped
        yield GaugeMetricFamily("lsi_edge_frames_per_second", "Processed frames per second over the last minute",
                                value=health.recent()["fps"])
        window = health.feed.last_window
        yield GaugeMetricFamily("lsi_edge_faces_present", "Mean tracked faces in the latest window",
                                value=0.0 if window is None else window.faces)
        yield CounterMetricFamily("lsi_edge_faces_detected", "Face detections", value=stats.faces_detected)
        yield CounterMetricFamily("lsi_edge_detection_tiles", "Tiles read by the face detector (discovery sweeps "
                                  "and tiles around known faces)", value=stats.tiles_scanned)
        yield CounterMetricFamily("lsi_edge_faces_classified", "Faces read by the expression model",
                                  value=stats.faces_classified)
        yield CounterMetricFamily("lsi_edge_windows", "Windows closed and stored", value=health.feed.windows)
        yield CounterMetricFamily("lsi_edge_windows_suppressed", "Windows suppressed for covering fewer than "
                                  "privacy.min_faces faces", value=health.feed.suppressed)
        yield GaugeMetricFamily("lsi_edge_source_up", "1 while the source delivers frames",
                                value=float(status.state == "up"))
        yield CounterMetricFamily("lsi_edge_source_reconnects", "Source reconnections", value=status.reconnects)
        yield GaugeMetricFamily("lsi_edge_mqtt_connected", "1 while connected to the broker",
                                value=float(link is not None and link.connected))
        yield CounterMetricFamily("lsi_edge_mqtt_reconnects", "Broker reconnections",
                                  value=link.reconnects if link is not None else 0)
        yield CounterMetricFamily("lsi_edge_mqtt_messages_sent", "Stored messages handed to the broker connection, "
                                  "replays included", value=link.sent if link is not None else 0)
        yield CounterMetricFamily("lsi_edge_mqtt_messages_acknowledged", "Stored messages acknowledged by the "
                                  "broker (QoS 1)", value=link.published if link is not None else 0)
        yield CounterMetricFamily("lsi_edge_mqtt_callback_errors", "Exceptions contained in MQTT callbacks",
                                  value=link.callback_errors if link is not None else 0)
        yield CounterMetricFamily("lsi_edge_unstored_dropped", "Messages the store could not take, dropped from "
                                  "memory when storage.memory_queue_max was reached (they were published live)",
                                  value=health.feed.dropped)
        yield GaugeMetricFamily("lsi_edge_outbox_messages", "Stored messages not yet acknowledged",
                                value=health.store.outbox_depth())
        yield CounterMetricFamily("lsi_edge_outbox_given_up", "Messages given up for publishing (outbox full)",
                                  value=health.store.given_up)
        commands = CounterMetricFamily("lsi_edge_commands", "Commands received", labels=["result"])
        commands.add_metric(["accepted"], health.commands.accepted)
        commands.add_metric(["rejected"], health.commands.rejected_total)
        yield commands
        refused = CounterMetricFamily("lsi_edge_commands_rejected", "Commands refused, by kind (unauthorised: "
                                      "missing or wrong token; invalid; not JSON; too large; …)", labels=["kind"])
        for kind, count in sorted(health.commands.rejected.items()):
            refused.add_metric([kind], count)
        yield refused
        verdict = health.verdict()
        yield GaugeMetricFamily("lsi_edge_healthy", "1 while alive (/healthz ok or degraded)", value=float(verdict.alive))
        yield GaugeMetricFamily("lsi_edge_degraded", "1 while /healthz says degraded (the reason is in its body)",
                                value=float(verdict.status == "degraded"))


class HealthServer:
    """/healthz (200 or 503, JSON) and /metrics (Prometheus text format) on a small HTTP server."""

    def __init__(self, health: Health, cfg: HealthConfig):
        self.health = health

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # scrapes every few seconds: not worth a log line
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path == "/metrics":
                    self._reply(200, CONTENT_TYPE_LATEST, generate_latest(health.registry))
                elif path == "/healthz":
                    verdict = health.verdict()
                    body = {"status": verdict.status, "ready": verdict.ready, "summary": verdict.summary,
                            "problems": list(verdict.problems)}
                    self._reply(HEALTH_CODES[verdict.status], "application/json", json.dumps(body).encode())
                else:
                    self._reply(404, "text/plain; charset=utf-8", b"/healthz or /metrics\n")

            def _reply(self, code: int, content_type: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        try:
            self.server = ThreadingHTTPServer((cfg.host, cfg.port), Handler)
        except OSError as error:
            raise ValueError(f"health.port: cannot listen on {cfg.host}:{cfg.port} ({error}); choose another "
                             "health.port or set health.enabled: false") from error
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="health-http", daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> None:
        self._thread.start()
        host = self.server.server_address[0]
        log.info("health on http://%s:%d/healthz, metrics on http://%s:%d/metrics", host, self.port, host, self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
