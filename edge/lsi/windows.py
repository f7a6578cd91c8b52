"""Per-window class aggregates from the smoothed states of confirmed tracks (k-anonymous)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from edge.smoothing.smoother import TrackDescriptors


@dataclass(frozen=True)
class WindowAggregate:
    window_start: float  # epoch seconds
    window_end: float
    faces: float  # mean confirmed faces per processed update
    faces_min: int
    faces_max: int
    lsi: float | None  # class LSI, mean over tracks of their window-mean LSI
    lsi_std: float | None  # spread across tracks
    emotions: dict[str, float] | None  # share of face-updates by dominant class
    negative_share: float | None  # share of tracks below the negative threshold
    transitions: int  # dominant-class changes inside the window
    change_rate: float | None  # mean ‖Δp̂‖₁ per second across tracks
    suppressed: bool  # fewer than privacy.min_faces faces: no index, no distribution
    updates: int  # processed updates in the window
    segment: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Accumulator:
    start: float
    face_counts: list[int] = field(default_factory=list)
    track_lsi: dict[str, list[float]] = field(default_factory=dict)
    track_change: dict[str, float] = field(default_factory=dict)
    dominant_counts: np.ndarray | None = None
    transitions: int = 0


class WindowAggregator:
    """Feed add() with the states after each update; closed windows come back from add()."""

    def __init__(self, labels: tuple[str, ...], window_seconds: float, min_faces: int,
                 negative_threshold: float, epoch_offset: float = 0.0):
        self.labels, self.window = labels, window_seconds
        self.min_faces, self.negative_threshold = min_faces, negative_threshold
        self.epoch_offset = epoch_offset  # source time + offset = epoch seconds
        self._current: _Accumulator | None = None
        self.segment: dict | None = None

    def _start_of(self, timestamp: float) -> float:
        return math.floor(timestamp / self.window) * self.window

    def add(self, timestamp: float, states: dict[str, tuple[float, TrackDescriptors]]) -> list[WindowAggregate]:
        """states: track id → (face LSI, descriptors) for confirmed tracks seen in this update."""
        closed = []
        start = self._start_of(timestamp)
        if self._current is not None and start >= self._current.start + self.window - 1e-9:
            closed.append(self._close(self._current))
            # Whole windows with no update at all (source down): report them as empty.
            gap = self._current.start + self.window
            while gap + self.window <= start + 1e-9:
                closed.append(self._close(_Accumulator(gap)))
                gap += self.window
            self._current = None
        if self._current is None:
            self._current = _Accumulator(start, dominant_counts=np.zeros(len(self.labels), np.int64))
        acc = self._current
        acc.face_counts.append(len(states))
        for track_id, (score, descriptors) in states.items():
            acc.track_lsi.setdefault(track_id, []).append(score)
            acc.track_change[track_id] = descriptors.change_rate
            acc.dominant_counts[descriptors.dominant] += 1
            acc.transitions += int(descriptors.dominant_changed)
        return closed

    def flush(self) -> WindowAggregate | None:
        if self._current is None:
            return None
        window = self._close(self._current)
        self._current = None
        return window

    def _close(self, acc: _Accumulator) -> WindowAggregate:
        counts = acc.face_counts or [0]
        faces = float(np.mean(counts))
        suppressed = faces < self.min_faces
        track_means = np.array([np.mean(v) for v in acc.track_lsi.values()], np.float64)
        emotions = lsi = lsi_std = negative = change = None
        if not suppressed and track_means.size:
            lsi = float(track_means.mean())
            lsi_std = float(track_means.std(ddof=1)) if track_means.size > 1 else 0.0
            total = acc.dominant_counts.sum()
            emotions = {name: float(acc.dominant_counts[k] / total) for k, name in enumerate(self.labels)}
            negative = float(np.mean(track_means < self.negative_threshold))
            change = float(np.mean(list(acc.track_change.values())))
        elif not suppressed:
            suppressed = True
        return WindowAggregate(
            window_start=round(acc.start + self.epoch_offset, 3),
            window_end=round(acc.start + self.window + self.epoch_offset, 3),
            faces=round(faces, 3), faces_min=int(min(counts)), faces_max=int(max(counts)),
            lsi=None if lsi is None else round(lsi, 2), lsi_std=None if lsi_std is None else round(lsi_std, 2),
            emotions=None if emotions is None else {k: round(v, 4) for k, v in emotions.items()},
            negative_share=None if negative is None else round(negative, 4),
            transitions=acc.transitions, change_rate=None if change is None else round(change, 4),
            suppressed=suppressed, updates=len(acc.face_counts), segment=self.segment)
