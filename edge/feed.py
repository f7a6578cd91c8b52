"""The sink that feeds the room's data out: store first (with its outbox message, in one
transaction), then nudge the MQTT link, which publishes from the outbox."""

from __future__ import annotations

from typing import Callable

from edge.lsi.segments import Alert, SegmentSummary
from edge.lsi.windows import WindowAggregate
from edge.mqtt.link import MqttLink
from edge.sessions import Sessions
from edge.storage.store import Store


class FeedSink:
    def __init__(self, store: Store, sessions: Sessions, link: MqttLink | None,
                 on_change: Callable[[], None] = lambda: None):
        self.store, self.sessions, self.link, self._on_change = store, sessions, link, on_change
        self.last_window: WindowAggregate | None = None
        self.windows = 0
        self.suppressed = 0

    def window(self, window: WindowAggregate) -> None:
        self.store.add_window(window.to_dict(), self.sessions.recording)
        self.last_window = window
        self.windows += 1
        self.suppressed += window.suppressed
        self._stored()

    def segment(self, summary: SegmentSummary) -> None:
        self.store.add_segment(summary.to_dict(), self.sessions.recording)
        self._stored()

    def alert(self, alert: Alert) -> None:
        self.store.add_alert(alert.to_dict(), self.sessions.recording)
        self._stored()

    def _stored(self) -> None:
        if self.link is not None:
            self.link.notify()
        self._on_change()
