"""The appliance, wired from one Config: the pipeline feeds the store and the MQTT link
(edge/feed.py), commands go through the command table (edge/control.py) to the session state
machine (edge/sessions.py) and the pipeline, and edge/health.py reports on all of it (MQTT
stats and state, /healthz, /metrics, the systemd watchdog in edge/service.py)."""

from __future__ import annotations

import logging
import threading
import time

from edge.capture.capture import Capture
from edge.config import Config
from edge.control import CommandTable, CommandToken
from edge.feed import FeedSink
from edge.health import Health, HealthServer
from edge.inference import ExpressionClassifier
from edge.mqtt.discovery import discovery_messages
from edge.mqtt.link import MqttLink
from edge.pipeline import Pipeline, RunStats
from edge.service import ServiceMonitor
from edge.sessions import Sessions
from edge.sinks import JsonLinesSink, Sink
from edge.storage.store import Store
from lsi_contract.credentials import token_file

log = logging.getLogger("lsi_edge.appliance")
PURGE_SECONDS = 3600.0


class Appliance:
    def __init__(self, cfg: Config, classifier: ExpressionClassifier | None = None,
                 extra_sinks: list[Sink] | None = None):
        self.cfg = cfg
        self.store = Store(cfg.storage.url, cfg.device_id, cfg.storage.outbox_max)
        # Attention mode opens no expression model at all (EU AI Act Art. 5(1)(f); docs/legal-and-ethics.md).
        self.classifier = classifier or (ExpressionClassifier.load(cfg.classifier.model_path, cfg.classifier.threads)
                                         if cfg.analysis.mode == "expression" else None)
        self.sessions = Sessions(self.store)
        self.link: MqttLink | None = None
        self.feed = FeedSink(self.store, self.sessions, None, on_change=self.publish_state,
                             memory_max=cfg.storage.memory_queue_max)
        for sink in extra_sinks or []:
            if isinstance(sink, JsonLinesSink):  # it runs after the feed: it knows this window's fate
                sink.stored = lambda: self.feed.all_stored
        self.pipeline = Pipeline(cfg, self.classifier, [self.feed, *(extra_sinks or [])])
        self.commands = CommandTable(self.sessions, self.pipeline, CommandToken(token_file(cfg.mqtt.command_token_file)),
                                     self.replay, on_change=self.publish_state)
        if cfg.mqtt.enabled:
            self.link = MqttLink(cfg.mqtt, cfg.device_id, self.store, self.commands.handle)
            if cfg.mqtt.home_assistant:
                self.link.discovery = lambda: discovery_messages(self.link.topics, cfg.device_id,
                                                                 cfg.mqtt.discovery_prefix)
            self.feed.link = self.link
        self.health = Health(cfg, self.pipeline, self.store, self.link, self.commands, self.sessions, self.feed)
        self.pipeline.frame_done = self.health.frame_done
        self.failure: str | None = None  # why the run ended other than by a stop request
        self.reload_to: Config | None = None  # the configuration to continue with (SIGHUP)
        self.health_server: HealthServer | None = None
        self._stop = threading.Event()

    def replay(self, epoch: str, first: int, last: int) -> tuple[int, list[tuple[int, int]]]:
        """Stored messages published again, oldest first (the `replay` command)."""
        count, missing = self.store.replay(epoch, first, last)
        if self.link is not None:
            self.link.notify()
        return count, missing

    def publish_state(self) -> None:
        if self.link is not None:
            self.link.publish_now(self.link.topics.state, self.health.state(), retain=True)

    def _housekeeping(self) -> None:
        next_stats = next_state = next_purge = 0.0
        while not self._stop.wait(0.5):
            now = time.monotonic()
            try:
                if self.link is not None and now >= next_state:
                    self.publish_state()
                    next_state = now + self.cfg.mqtt.state_seconds
                if self.link is not None and now >= next_stats:
                    self.link.publish_now(self.link.topics.stats, self.health.stats())
                    next_stats = now + self.cfg.mqtt.stats_seconds
                self.feed.retry()
                if now >= next_purge:
                    removed = self.store.purge(self.cfg.storage.retention_days)
                    if removed:
                        log.info("retention: deleted %d rows older than %g days", removed,
                                 self.cfg.storage.retention_days)
                    next_purge = now + PURGE_SECONDS
            except Exception:
                log.exception("housekeeping failed; will retry")

    # -- run -----------------------------------------------------------------------------------
    def run(self, capture: Capture, max_frames: int | None = None) -> RunStats:
        """Until the source ends, max_frames, stop(), reload() or a give-up; closes the open window
        and flushes the outbox (briefly) on the way out."""
        self.health.start(capture)
        self.health_server = server = HealthServer(self.health, self.cfg.health) if self.cfg.health.enabled else None
        if server is not None:
            server.start()
        if self.link is not None:
            self.link.start()
        keeper = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        keeper.start()
        monitor = ServiceMonitor(self.health, self._give_up)
        monitor.start()
        try:
            return self.pipeline.run(capture, max_frames)
        finally:
            monitor.stop()
            self._stop.set()
            keeper.join(timeout=2.0)
            if self.link is not None:
                self.publish_state()
                self.link.stop()
            if server is not None:
                server.stop()
            self.feed.retry()
            if self.feed.unsaved:
                log.warning("stopping with %d messages the store could not take (%s): they were published live, "
                            "and are lost from the box", len(self.feed.unsaved), self.feed.store_error)
            self.store.close()

    def stop(self) -> None:
        self.pipeline.stop()

    def reload(self, cfg: Config) -> None:
        """Finish this run and continue with cfg."""
        self.reload_to = cfg
        self.stop()

    def _give_up(self, reason: str) -> None:
        self.failure = reason
        self.stop()
