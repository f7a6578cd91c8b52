"""Teaching segments (lecture, exercise, …) and anonymous early-warning alerts."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field

from edge.config import AlertConfig
from edge.lsi.windows import WindowAggregate
from lsi_contract.labels import SEGMENT_KINDS
from lsi_contract.scale import LsiBand, band_of
from lsi_contract.stats import mean_ci95


@dataclass(frozen=True)
class SegmentSummary:
    kind: str
    label: str
    start: float
    end: float
    windows: int
    reported_windows: int  # windows not suppressed
    lsi_mean: float | None
    lsi_ci95_low: float | None
    lsi_ci95_high: float | None
    faces_mean: float | None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Alert:
    kind: str  # "lsi_drop" | "negative_share"
    timestamp: float
    segment: dict | None
    value: float
    reference: float
    sustained_seconds: float
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Segment:
    kind: str
    label: str
    start: float
    windows: list[WindowAggregate] = field(default_factory=list)


def _round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class SegmentTracker:
    def __init__(self):
        self.current: _Segment | None = None

    @property
    def info(self) -> dict | None:
        return None if self.current is None else {"kind": self.current.kind, "label": self.current.label,
                                                  "start": self.current.start}

    def start(self, kind: str, label: str, timestamp: float) -> SegmentSummary | None:
        if kind not in SEGMENT_KINDS:
            raise ValueError(f"segment kind {kind!r} unknown; use one of {', '.join(SEGMENT_KINDS)}")
        ended = self.end(timestamp)
        self.current = _Segment(kind, label or kind, timestamp)
        return ended

    def add(self, window: WindowAggregate) -> None:
        if self.current is not None:
            self.current.windows.append(window)

    def end(self, timestamp: float) -> SegmentSummary | None:
        segment, self.current = self.current, None
        if segment is None:
            return None
        reported = [w for w in segment.windows if not w.suppressed and w.lsi is not None]
        mean, low, high = mean_ci95([w.lsi for w in reported])
        faces = [w.faces for w in segment.windows]
        return SegmentSummary(segment.kind, segment.label, segment.start, timestamp, len(segment.windows),
                              len(reported), _round2(mean), _round2(low), _round2(high),
                              _round2(sum(faces) / len(faces)) if faces else None)


class AlertMonitor:
    """Sustained drop against the segment's baseline; sustained share of negative faces.

    Each alert fires once per episode and re-arms when the condition clears.
    """

    def __init__(self, cfg: AlertConfig, bands: tuple[LsiBand, ...]):
        self.cfg, self.bands = cfg, bands
        self._baseline: deque[float] = deque()
        self._segment_start: float | None = None
        self._since: dict[str, float | None] = {"lsi_drop": None, "negative_share": None}
        self._fired: dict[str, bool] = {"lsi_drop": False, "negative_share": False}

    def reset(self, segment_start: float | None) -> None:
        self._baseline.clear()
        self._segment_start = segment_start
        self._since = dict.fromkeys(self._since)
        self._fired = dict.fromkeys(self._fired, False)

    @property
    def baseline(self) -> float | None:
        return sum(self._baseline) / len(self._baseline) if self._baseline else None

    def check(self, window: WindowAggregate) -> list[Alert]:
        if window.suppressed or window.lsi is None:
            return []
        start = self._segment_start if self._segment_start is not None else window.window_start
        if self._segment_start is None:
            self._segment_start = start
        if window.window_end <= start + self.cfg.baseline_seconds:
            self._baseline.append(window.lsi)
            return []
        alerts = []
        baseline = self.baseline
        if baseline is not None:
            alerts += self._sustain("lsi_drop", window, window.lsi <= baseline - self.cfg.drop_points,
                                    window.lsi, baseline,
                                    f"class LSI {window.lsi:.0f} ({band_of(window.lsi, self.bands).name}) is "
                                    f"{baseline - window.lsi:.0f} points below the segment baseline "
                                    f"{baseline:.0f} ({band_of(baseline, self.bands).name})")
        if window.negative_share is not None:
            alerts += self._sustain("negative_share", window, window.negative_share >= self.cfg.negative_share,
                                    window.negative_share, self.cfg.negative_share,
                                    f"{window.negative_share:.0%} of the readable faces look negative")
        return alerts

    def _sustain(self, kind: str, window: WindowAggregate, holds: bool, value: float, reference: float,
                 message: str) -> list[Alert]:
        if not holds:
            self._since[kind], self._fired[kind] = None, False
            return []
        if self._since[kind] is None:
            self._since[kind] = window.window_start
        held = window.window_end - self._since[kind]
        if held >= self.cfg.sustain_seconds and not self._fired[kind]:
            self._fired[kind] = True
            return [Alert(kind, window.window_end, window.segment, round(value, 4), round(reference, 4),
                          round(held, 1), message)]
        return []
