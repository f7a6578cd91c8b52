"""The appliance: pipeline + storage + MQTT feed + session commands, wired from one Config."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

from edge.capture.capture import Capture
from edge.config import Config
from edge.inference import ExpressionClassifier
from edge.lsi.segments import Alert, SegmentSummary
from edge.lsi.windows import WindowAggregate
from edge.mqtt.commands import CommandError, parse_command, request_id_of
from edge.mqtt.link import MqttLink
from edge.pipeline import Pipeline, RunStats
from edge.sinks import Sink
from edge.storage.store import Store

log = logging.getLogger("lsi_edge.appliance")


class Appliance:
    """Sink of the pipeline: store first, then publish. Also answers commands and reports health."""

    def __init__(self, cfg: Config, classifier: ExpressionClassifier | None = None,
                 extra_sinks: list[Sink] | None = None):
        self.cfg = cfg
        self.store = Store(cfg.storage.url, cfg.device_id, cfg.storage.outbox_max)
        self.classifier = classifier or ExpressionClassifier.load(cfg.classifier.model, cfg.classifier.threads)
        self.pipeline = Pipeline(cfg, self.classifier, [self, *(extra_sinks or [])])
        self.link = MqttLink(cfg.mqtt, cfg.device_id, self.store, self.handle_command) if cfg.mqtt.enabled else None
        if self.link is not None and cfg.mqtt.home_assistant:
            self.link.discovery = self._discovery
        self.session_id: str | None = None
        self.session_label = ""
        self.paused = False
        self.last_window: WindowAggregate | None = None
        self.commands_ok = 0
        self.commands_rejected = 0
        self._rejection_kinds: set[str] = set()
        self._token = os.environ.get(cfg.mqtt.command_token_env) or None
        self._started = time.time()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.capture: Capture | None = None

    # -- sink ----------------------------------------------------------------------------------
    @property
    def recording_session(self) -> str | None:
        return None if self.paused else self.session_id

    def window(self, window: WindowAggregate) -> None:
        self.last_window = window
        self.store.add_window(window.to_dict(), self.recording_session)
        self._notify()

    def segment(self, summary: SegmentSummary) -> None:
        self.store.add_segment(summary.to_dict(), self.recording_session)
        self._notify()

    def alert(self, alert: Alert) -> None:
        self.store.add_alert(alert.to_dict(), self.recording_session)
        self._notify()

    def _notify(self) -> None:
        if self.link is not None:
            self.link.notify()
            self._publish_state()

    # -- commands ------------------------------------------------------------------------------
    def handle_command(self, name: str, payload: bytes) -> dict:
        """Validate and apply; always returns the answer for …/cmd/result. Never raises."""
        request_id = request_id_of(payload)
        try:
            command = parse_command(name, payload, self._token)
            request_id = command.request_id
            detail = self._apply(name, command)
        except CommandError as error:
            return self._reject(name, request_id, str(error))
        except Exception as error:  # a command must never stop the daemon
            log.exception("command %s failed", name)
            return self._reject(name, request_id, f"internal error: {type(error).__name__}")
        self.commands_ok += 1
        log.info("command %s: %s", name, detail)
        self._publish_state()
        return {"command": name, "request_id": request_id, "ok": True, "detail": detail,
                "timestamp": time.time()}

    def _reject(self, name: str, request_id: str | None, error: str) -> dict:
        self.commands_rejected += 1
        kind = error.split(":")[0][:40]
        if kind not in self._rejection_kinds:  # log each kind of rejection once; count all
            self._rejection_kinds.add(kind)
            log.warning("rejected command %r: %s (further rejections of this kind are only counted)",
                        name[:60], error)
        return {"command": name[:100], "request_id": request_id, "ok": False, "error": error,
                "timestamp": time.time()}

    def _apply(self, name: str, command) -> str:
        now = time.time()
        with self._lock:
            if name == "session/start":
                if self.session_id is not None:
                    self.store.end_session(self.session_id, now)
                self.session_id = self.store.start_session(command.label, now)
                self.session_label, self.paused = command.label, False
                return f"session {self.session_id} started"
            if self.session_id is None and name != "segment/start":
                raise CommandError("no session is running; send session/start first")
            if name == "session/stop":
                self.store.end_session(self.session_id, now)
                ended, self.session_id, self.paused = self.session_id, None, False
                return f"session {ended} stopped"
            if name == "session/pause":
                if self.paused:
                    raise CommandError("session is already paused")
                self.paused = True
                return "session paused"
            if name == "session/resume":
                if not self.paused:
                    raise CommandError("session is not paused")
                self.paused = False
                return "session resumed"
            self.pipeline.start_segment(command.type, command.label)
            return f"segment {command.type} {command.label!r} starts with the next frame"

    # -- state and health ----------------------------------------------------------------------
    def state(self) -> dict:
        window = self.last_window
        stats = self.pipeline.stats
        return {
            "device_id": self.cfg.device_id,
            "timestamp": time.time(),
            "session": None if self.session_id is None else {
                "id": self.session_id, "label": self.session_label,
                "state": "paused" if self.paused else "recording"},
            "segment": self.pipeline.segments.info,
            "faces": None if window is None else window.faces,
            "lsi": None if window is None or window.suppressed else window.lsi,
            "fps": round(stats.frames / stats.wall_seconds, 2) if stats.wall_seconds else self._fps(),
            "broker": "connected" if self.link is not None and self.link.connected else "disconnected",
            "camera": self.capture.status.state if self.capture is not None else "starting",
        }

    def _fps(self) -> float:
        elapsed = time.time() - self._started
        return round(self.pipeline.stats.frames / elapsed, 2) if elapsed > 0 else 0.0

    def stats(self) -> dict:
        stats = self.pipeline.stats
        return {
            "device_id": self.cfg.device_id,
            "timestamp": time.time(),
            "uptime_s": round(time.time() - self._started, 1),
            "fps": self._fps(),
            "frames": stats.frames,
            "faces_classified": stats.faces_classified,
            "inference_ms_per_face": round(stats.stage_seconds["classify"] * 1000 / max(stats.faces_classified, 1), 3),
            "ms_per_frame": stats.stage_ms_per_frame(),
            "frame_errors": stats.frame_errors,
            "camera_state": self.capture.status.state if self.capture is not None else "starting",
            "camera_reconnects": self.capture.status.reconnects if self.capture is not None else 0,
            "broker_reconnects": self.link.reconnects if self.link is not None else 0,
            "published": self.link.published if self.link is not None else 0,
            "outbox_depth": self.store.outbox_depth(),
            "outbox_given_up": self.store.given_up,
            "commands_ok": self.commands_ok,
            "commands_rejected": self.commands_rejected,
        }

    def _publish_state(self) -> None:
        if self.link is not None:
            self.link.publish_now(self.link.topics.state, self.state(), retain=True)

    def _housekeeping(self) -> None:
        next_stats = next_state = next_purge = 0.0
        while not self._stop.wait(0.5):
            now = time.monotonic()
            try:
                if self.link is not None and now >= next_state:
                    self._publish_state()
                    next_state = now + self.cfg.mqtt.state_seconds
                if self.link is not None and now >= next_stats:
                    self.link.publish_now(self.link.topics.stats, self.stats())
                    next_stats = now + self.cfg.mqtt.stats_seconds
                if now >= next_purge:
                    removed = self.store.purge(self.cfg.storage.retention_days)
                    if removed:
                        log.info("retention: deleted %d rows older than %g days", removed,
                                 self.cfg.storage.retention_days)
                    next_purge = now + 3600.0
            except Exception:
                log.exception("housekeeping failed; will retry")

    def _discovery(self) -> list[tuple[str, str]]:
        """Home Assistant MQTT discovery: LSI and faces sensors for this room."""
        topics, device = self.link.topics, self.cfg.device_id
        base = {"state_topic": topics.state, "availability_topic": topics.availability,
                "payload_available": "online", "payload_not_available": "offline",
                "device": {"identifiers": [f"lsi-edge-{device}"], "name": f"LSI Edge {device}",
                           "manufacturer": "LSI Edge"}}
        sensors = {"lsi": {"name": "Learning Satisfaction Index", "unit_of_measurement": "%",
                           "value_template": "{{ value_json.lsi }}", "icon": "mdi:school"},
                   "faces": {"name": "Faces", "value_template": "{{ value_json.faces }}",
                             "icon": "mdi:account-group"}}
        prefix = self.cfg.mqtt.discovery_prefix
        return [(f"{prefix}/sensor/lsi_edge_{device}_{key}/config",
                 json.dumps({**base, **extra, "unique_id": f"lsi_edge_{device}_{key}",
                             "state_class": "measurement"}))
                for key, extra in sensors.items()]

    # -- run -----------------------------------------------------------------------------------
    def run(self, capture: Capture, max_frames: int | None = None) -> RunStats:
        self.capture = capture
        if self.link is not None:
            self.link.start()
        keeper = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        keeper.start()
        try:
            return self.pipeline.run(capture, max_frames)
        finally:
            self._stop.set()
            keeper.join(timeout=2.0)
            if self.link is not None:
                self._publish_state()
                self.link.stop()
            self.store.close()

    def stop(self) -> None:
        self.pipeline.stop()
