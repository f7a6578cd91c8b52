"""Per-window class aggregates: presence and attention of every face, expression of readable faces.

k-anonymity applies to each part: a window covering fewer than `min_faces` faces is suppressed
whole; one whose readable faces are fewer than `min_faces` keeps presence and attention and
suppresses the expression part.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from edge.lsi.quantify import ConfusionModel, window_shares
from edge.smoothing.smoother import TrackDescriptors
from lsi_contract.scale import lsi

BOOTSTRAP_RESAMPLES = 50  # over tracks, for the LSI interval (each resample re-estimates the shares)
INTERVAL = (2.5, 97.5)


@dataclass(frozen=True)
class ReadFace:
    """A readable face in one update, as the window sees it."""

    score: float  # face LSI from its smoothed probabilities
    descriptors: TrackDescriptors
    crop_px: float  # side of the frame region the classifier saw
    probabilities: np.ndarray  # this update's calibrated reading


@dataclass(frozen=True)
class WindowAggregate:
    window_start: float  # epoch seconds
    window_end: float
    analysis: str  # "expression" | "attention"
    faces: float  # mean faces present per update (confirmed tracks)
    faces_min: int
    faces_max: int
    faces_read: float | None  # mean readable faces per update (expression readings)
    attention: float | None  # mean share of present faces with the head up toward the front
    lsi: float | None  # class LSI from the class shares
    lsi_low: float | None  # 95 % interval of the LSI (bootstrap over faces)
    lsi_high: float | None
    lsi_std: float | None  # spread of the faces' own mean LSI
    emotions: dict[str, float] | None  # class shares of the readable face-time
    negative_share: float | None  # share of the classes with a negative LSI weight
    transitions: int  # dominant-class changes inside the window
    change_rate: float | None  # mean ‖Δp̂‖₁ per second across tracks
    suppressed: bool  # fewer than privacy.min_faces faces: nothing but the face count
    expression_suppressed: bool  # fewer than privacy.min_faces readable faces (or attention mode)
    updates: int  # processed updates in the window
    segment: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Accumulator:
    start: float
    present: list[int] = field(default_factory=list)
    read: list[int] = field(default_factory=list)
    heads_up_share: list[float] = field(default_factory=list)
    track_lsi: dict[str, list[float]] = field(default_factory=dict)
    track_rows: dict[str, list[tuple[np.ndarray, float]]] = field(default_factory=dict)
    track_change: dict[str, float] = field(default_factory=dict)
    transitions: int = 0


class WindowAggregator:
    """Feed add() after each update; closed windows come back from add()."""

    def __init__(self, labels: tuple[str, ...], window_seconds: float, min_faces: int, weights: np.ndarray | None,
                 share_method: str = "adjusted", confusion: ConfusionModel | None = None,
                 epoch_offset: float = 0.0, support_rank: int = 0, shares_from: str = "readings"):
        """weights None: attention mode (no expression part); shares_from: see LsiConfig.shares_from."""
        self.labels, self.window, self.min_faces = labels, window_seconds, min_faces
        self.weights, self.share_method, self.confusion = weights, share_method, confusion
        self.support_rank, self.shares_from = support_rank, shares_from
        self.negative = None if weights is None else weights < 0
        self.epoch_offset = epoch_offset  # source time + offset = epoch seconds
        self._current: _Accumulator | None = None
        self.segment: dict | None = None

    def _start_of(self, timestamp: float) -> float:
        return math.floor(timestamp / self.window) * self.window

    def add(self, timestamp: float, present: int, heads_up: int, read: dict[str, ReadFace]) -> list[WindowAggregate]:
        """present: confirmed faces in the room; heads_up: of those, seen with the head up; read: readable faces."""
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
            self._current = _Accumulator(start)
        acc = self._current
        acc.present.append(present)
        acc.read.append(len(read))
        if present:
            acc.heads_up_share.append(min(heads_up, present) / present)
        for track_id, face in read.items():
            acc.track_lsi.setdefault(track_id, []).append(face.score)
            row = face.probabilities if self.shares_from == "readings" else face.descriptors.smoothed
            acc.track_rows.setdefault(track_id, []).append((row, face.crop_px))
            acc.track_change[track_id] = face.descriptors.change_rate
            acc.transitions += int(face.descriptors.dominant_changed)
        return closed

    def flush(self) -> WindowAggregate | None:
        if self._current is None:
            return None
        window = self._close(self._current)
        self._current = None
        return window

    def _shares(self, rows: list[tuple[np.ndarray, float]]) -> np.ndarray:
        probabilities = np.stack([p for p, _ in rows]).astype(np.float64)
        return window_shares(self.share_method, probabilities, np.array([px for _, px in rows]), self.confusion,
                             self.support_rank)

    def _lsi_interval(self, acc: _Accumulator) -> tuple[float, float]:
        """Bootstrap over faces (tracks): the interval a teacher can read the LSI with."""
        tracks = list(acc.track_rows.values())
        rng = np.random.default_rng(len(tracks))  # deterministic for the same window
        values = []
        for _ in range(BOOTSTRAP_RESAMPLES):
            chosen = rng.integers(0, len(tracks), len(tracks))
            values.append(float(lsi(self._shares([row for k in chosen for row in tracks[k]]), self.weights)))
        low, high = np.percentile(values, INTERVAL)
        return float(low), float(high)

    def _close(self, acc: _Accumulator) -> WindowAggregate:
        counts = acc.present or [0]
        faces = float(np.mean(counts))
        suppressed = faces < self.min_faces
        faces_read = attention = None
        if not suppressed:
            faces_read = round(float(np.mean(acc.read)), 3) if acc.read else 0.0
            attention = round(float(np.mean(acc.heads_up_share)), 4) if acc.heads_up_share else None
        expression_suppressed = (self.weights is None or suppressed or faces_read is None
                                 or faces_read < self.min_faces or not acc.track_rows)
        emotions = score = low = high = spread = negative = change = None
        if not expression_suppressed:
            shares = self._shares([row for rows in acc.track_rows.values() for row in rows])
            score = round(float(lsi(shares, self.weights)), 2)
            low, high = (round(v, 2) for v in self._lsi_interval(acc))
            track_means = np.array([np.mean(v) for v in acc.track_lsi.values()])
            spread = round(float(track_means.std(ddof=1)), 2) if track_means.size > 1 else 0.0
            emotions = {name: round(float(shares[k]), 4) for k, name in enumerate(self.labels)}
            negative = round(float(shares[self.negative].sum()), 4)
            change = round(float(np.mean(list(acc.track_change.values()))), 4)
        return WindowAggregate(
            window_start=round(acc.start + self.epoch_offset, 3),
            window_end=round(acc.start + self.window + self.epoch_offset, 3),
            analysis="attention" if self.weights is None else "expression",
            faces=round(faces, 3), faces_min=int(min(counts)), faces_max=int(max(counts)), faces_read=faces_read,
            attention=attention, lsi=score, lsi_low=low, lsi_high=high, lsi_std=spread, emotions=emotions,
            negative_share=negative, transitions=acc.transitions, change_rate=change, suppressed=suppressed,
            expression_suppressed=expression_suppressed, updates=len(acc.present), segment=self.segment)
