"""The sink that feeds the room's data out: store first (with its outbox message, in one
transaction), then nudge the MQTT link, which publishes from the outbox.

When storing fails (a full disk, a locked or corrupt database) the feed does not stop. The promise:
each message keeps its number and is kept in memory, in order (at most storage.memory_queue_max;
beyond that the oldest are dropped, counted), and published live at once, marked `"stored":
false`; storing is retried with every new message and every few seconds, and once it works the
kept messages are stored and published again from the outbox (consumers de-duplicate by seq).
Messages kept in memory are lost from the box if it stops before storing works again (they were
published live; after a crash their numbers are given again to new messages, and a consumer keeps
the stored copy of a number over a live one, as the dashboard does). Health says why, and counts.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError

from edge.lsi.segments import Alert, SegmentSummary
from edge.lsi.windows import WindowAggregate
from edge.mqtt.link import MqttLink
from edge.sessions import Sessions
from edge.storage.store import Store
from lsi_contract.topics import AGGREGATE, ALERT, SEGMENT

log = logging.getLogger("lsi_edge.feed")


def store_failure(error: Exception) -> str:
    """What went wrong, in the words of the database (e.g. 'database or disk is full')."""
    return str(getattr(error, "orig", None) or error).splitlines()[0][:200]


class FeedSink:
    def __init__(self, store: Store, sessions: Sessions, link: MqttLink | None,
                 on_change: Callable[[], None] = lambda: None, memory_max: int = 720):
        self.store, self.sessions, self.link, self._on_change = store, sessions, link, on_change
        self.memory_max = memory_max
        self.last_window: WindowAggregate | None = None
        self.windows = 0
        self.suppressed = 0
        self.unsaved: deque[tuple[str, dict]] = deque()  # (leaf, payload) not stored yet, oldest first
        self.store_error: str | None = None  # why storing fails now; None while it works
        self.dropped = 0  # kept messages dropped because the memory queue was full
        self._lock = threading.Lock()

    @property
    def all_stored(self) -> bool:
        return not self.unsaved

    def window(self, window: WindowAggregate) -> None:
        self._keep(AGGREGATE, self.store.window_payload(window.to_dict(), self.sessions.recording))
        self.last_window = window
        self.windows += 1
        self.suppressed += window.suppressed

    def segment(self, summary: SegmentSummary) -> None:
        self._keep(SEGMENT, self.store.segment_payload(summary.to_dict(), self.sessions.recording))

    def alert(self, alert: Alert) -> None:
        self._keep(ALERT, self.store.alert_payload(alert.to_dict(), self.sessions.recording))

    def _keep(self, leaf: str, payload: dict) -> None:
        with self._lock:
            self.unsaved.append((leaf, payload))
            self._store_kept()
            live = bool(self.unsaved) and self.unsaved[-1][1] is payload
        if live and self.link is not None:
            self.link.publish_now(self.link.topics.leaf(leaf), {**payload, "stored": False})
        self._stored()

    def retry(self) -> None:
        """Store what is kept in memory, if storing works again (called every few seconds)."""
        if self.unsaved:
            with self._lock:
                self._store_kept()
            self._stored()

    def _store_kept(self) -> None:
        while self.unsaved:
            leaf, payload = self.unsaved[0]
            try:
                self.store.store(leaf, payload)
            except (SQLAlchemyError, OSError) as error:
                if self.store_error is None:
                    log.error("storing failed (%s): messages keep flowing live over MQTT and stdout, marked "
                              "\"stored\": false, and are kept in memory (at most %d) until storing works again",
                              store_failure(error), self.memory_max)
                self.store_error = store_failure(error)
                while len(self.unsaved) > self.memory_max:
                    self.unsaved.popleft()
                    self.dropped += 1
                return
            self.unsaved.popleft()
        if self.store_error is not None:
            log.info("storing works again (it failed with: %s); every message kept in memory is stored",
                     self.store_error)
            self.store_error = None

    def _stored(self) -> None:
        if self.link is not None:
            self.link.notify()
        self._on_change()
