"""Where aggregates go. Only aggregates: nothing per face ever reaches a sink."""

from __future__ import annotations

import json
import logging
import sys
from typing import Callable, Protocol, TextIO

from edge.lsi.segments import Alert, SegmentSummary
from edge.lsi.windows import WindowAggregate

log = logging.getLogger("lsi_edge.sink")


class Sink(Protocol):
    def window(self, window: WindowAggregate) -> None: ...

    def segment(self, summary: SegmentSummary) -> None: ...

    def alert(self, alert: Alert) -> None: ...


class JsonLinesSink:
    """One JSON object per window on a stream (stdout for `--print`); segments and alerts are logged.
    With `stored` set (the appliance's feed), a window the box could not store says "stored": false."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.stored: Callable[[], bool] | None = None

    def window(self, window: WindowAggregate) -> None:
        data = window.to_dict()
        if self.stored is not None and not self.stored():
            data["stored"] = False
        self.stream.write(json.dumps(data) + "\n")
        self.stream.flush()

    def segment(self, summary: SegmentSummary) -> None:
        log.info("segment ended: %s", json.dumps(summary.to_dict()))

    def alert(self, alert: Alert) -> None:
        log.warning("alert: %s", alert.message)


class CollectingSink:
    """Keeps everything in memory (tests, bench)."""

    def __init__(self):
        self.windows: list[WindowAggregate] = []
        self.segments: list[SegmentSummary] = []
        self.alerts: list[Alert] = []

    def window(self, window: WindowAggregate) -> None:
        self.windows.append(window)

    def segment(self, summary: SegmentSummary) -> None:
        self.segments.append(summary)

    def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
