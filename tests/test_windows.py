import numpy as np

from edge.config import DEFAULT_LSI_WEIGHTS, AlertConfig
from edge.datasets import FER2013_LABELS
from edge.lsi.segments import AlertMonitor, SegmentTracker
from edge.lsi.windows import ReadFace, WindowAggregator
from edge.smoothing.smoother import TrackDescriptors
from lsi_contract.scale import lsi, lsi_bands, weight_vector

WEIGHTS = weight_vector(DEFAULT_LSI_WEIGHTS, FER2013_LABELS)
HAPPY, SAD, NEUTRAL = 3, 4, 6


def _read(dominant: int = HAPPY, changed: bool = False, crop_px: float = 60.0, reading: int | None = None) -> ReadFace:
    """A face whose smoothed state is `dominant` and whose latest reading is `reading` (default: the same)."""
    probabilities = np.eye(7, dtype=np.float32)[dominant]
    descriptors = TrackDescriptors(probabilities, dominant, 1.0, int(changed), 0.1, 0.0, changed)
    return ReadFace(float(lsi(probabilities, WEIGHTS)), descriptors, crop_px,
                    np.eye(7, dtype=np.float32)[dominant if reading is None else reading])


def _faces(count: int, dominant: int = HAPPY, prefix: str = "id") -> dict[str, ReadFace]:
    return {f"{prefix}{i}": _read(dominant) for i in range(count)}


def _aggregator(min_faces: int, method: str = "count", weights=WEIGHTS) -> WindowAggregator:
    return WindowAggregator(FER2013_LABELS, 5.0, min_faces, weights, method)


def test_window_boundaries_and_class_figures():
    agg = _aggregator(min_faces=3)
    closed = []
    for k in range(12):  # 0.0 … 5.5 s at 2 Hz
        faces = {**_faces(4), "neg": _read(SAD)}
        closed += agg.add(k * 0.5, present=6, heads_up=3, read=faces)
    assert len(closed) == 1
    window = closed[0]
    assert (window.window_start, window.window_end) == (0.0, 5.0)
    assert window.faces == 6 and window.faces_min == window.faces_max == 6 and window.updates == 10
    assert window.faces_read == 5 and window.attention == 0.5
    assert window.emotions["happy"] == 0.8 and window.emotions["sad"] == 0.2
    assert window.negative_share == 0.2  # sad has a negative weight
    assert window.lsi == round(0.8 * 100.0 + 0.2 * lsi(np.eye(7)[SAD], WEIGHTS), 2)
    assert window.lsi_low <= window.lsi <= window.lsi_high
    assert not window.suppressed and not window.expression_suppressed and window.analysis == "expression"


def test_fewer_faces_than_min_faces_is_suppressed_whole():
    agg = _aggregator(min_faces=5)
    for k in range(10):
        agg.add(k * 0.5, present=4, heads_up=4, read=_faces(4))
    window = agg.flush()
    assert window.suppressed and window.expression_suppressed
    assert window.lsi is None and window.emotions is None and window.attention is None and window.faces_read is None
    assert window.faces == 4  # the count itself is not identifying and is kept


def test_few_readable_faces_keep_presence_and_attention_only():
    agg = _aggregator(min_faces=5)
    for k in range(10):  # 8 students present, only 3 readable (the rest bent over their desks)
        agg.add(k * 0.5, present=8, heads_up=3, read=_faces(3))
    window = agg.flush()
    assert not window.suppressed and window.expression_suppressed
    assert window.faces == 8 and window.faces_read == 3 and window.attention == 0.375
    assert window.lsi is None and window.emotions is None and window.negative_share is None


def test_attention_mode_has_no_expression_part():
    agg = _aggregator(min_faces=1, weights=None)
    for k in range(10):
        agg.add(k * 0.5, present=6, heads_up=6, read={})
    window = agg.flush()
    assert window.analysis == "attention" and window.expression_suppressed and window.attention == 1.0
    assert window.lsi is None and window.emotions is None


def test_gaps_produce_empty_suppressed_windows():
    agg = _aggregator(min_faces=1)
    agg.add(1.0, 2, 2, _faces(2))
    closed = agg.add(17.0, 2, 2, _faces(2))
    assert [(w.window_start, w.suppressed) for w in closed] == [(0.0, False), (5.0, True), (10.0, True)]


def test_segment_summary_has_mean_and_interval_over_reported_windows():
    agg = _aggregator(min_faces=3)
    segments = SegmentTracker()
    segments.start("lecture", "fractions", 0.0)
    windows = []
    for k, (dominant, count) in enumerate([(NEUTRAL, 3), (HAPPY, 3), (HAPPY, 1), (NEUTRAL, 3)]):
        windows += agg.add(k * 5.0 + 1.0, count, count, _faces(count, dominant))
    windows.append(agg.flush())
    for window in windows:
        segments.add(window)
    summary = segments.start("quiz", "", 20.0)  # starting the next segment ends this one
    assert (summary.kind, summary.label, summary.windows, summary.reported_windows) == ("lecture", "fractions", 4, 3)
    reported = [w.lsi for w in windows if not w.suppressed]
    assert summary.lsi_mean == round(float(np.mean(reported)), 2)  # the suppressed window (1 face) does not count
    assert segments.info["kind"] == "quiz"


def test_drop_alert_fires_once_after_being_sustained():
    cfg = AlertConfig(drop_points=15, sustain_seconds=10, baseline_seconds=10)
    monitor = AlertMonitor(cfg, lsi_bands(DEFAULT_LSI_WEIGHTS, FER2013_LABELS))
    monitor.reset(0.0)
    agg = _aggregator(min_faces=1)
    # happy (100) for the baseline, then a third of the class sad: far below it, under the negative-share alert
    mood = [{"h": 6}, {"h": 6}, {"h": 4, "s": 2}, {"h": 4, "s": 2}, {"h": 4, "s": 2}, {"h": 4, "s": 2}, {"h": 6},
            {"h": 4, "s": 2}, {"h": 4, "s": 2}, {"h": 4, "s": 2}]
    fired = []
    for k, counts in enumerate(mood):
        faces = {**_faces(counts.get("h", 0), HAPPY, "h"), **_faces(counts.get("s", 0), SAD, "s")}
        closed = agg.add(k * 5.0 + 1.0, 6, 6, faces)
        for window in closed:
            fired += [(window.window_start, a.kind) for a in monitor.check(window)]
    fired += [(w.window_start, a.kind) for w in [agg.flush()] for a in monitor.check(w)]
    assert [kind for _, kind in fired] == ["lsi_drop", "lsi_drop"]  # two separate episodes
    assert fired[0][0] == 15.0  # 10 s of drop: windows starting at 10 and 15


def test_shares_come_from_the_readings_unless_told_to_use_the_smoothed_state():
    """Smoothed states lag: just after a joke ends they still say happy while every reading says neutral."""
    figures = {}
    for source in ("readings", "smoothed"):
        agg = WindowAggregator(FER2013_LABELS, 5.0, 3, WEIGHTS, "count", shares_from=source)
        for k in range(10):
            agg.add(k * 0.5, present=4, heads_up=4, read={f"id{i}": _read(HAPPY, reading=NEUTRAL) for i in range(4)})
        figures[source] = agg.flush()
    assert figures["readings"].emotions["neutral"] == 1.0 and figures["smoothed"].emotions["happy"] == 1.0
    assert figures["readings"].lsi < figures["smoothed"].lsi
    assert figures["readings"].transitions == figures["smoothed"].transitions  # the face's own state is unchanged
