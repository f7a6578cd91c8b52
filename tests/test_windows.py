import numpy as np

from edge.config import AlertConfig
from edge.datasets import FER2013_LABELS
from edge.lsi.segments import AlertMonitor, SegmentTracker
from edge.lsi.windows import WindowAggregator
from edge.smoothing.smoother import TrackDescriptors


def _state(score: float, dominant: int = 3, changed: bool = False):
    probabilities = np.eye(7, dtype=np.float32)[dominant]
    return score, TrackDescriptors(probabilities, dominant, 1.0, int(changed), 0.1, 0.0, changed)


def _faces(count: int, score: float = 70.0, dominant: int = 3):
    return {f"id{i}": _state(score, dominant) for i in range(count)}


def test_window_boundaries_and_class_figures():
    agg = WindowAggregator(FER2013_LABELS, 5.0, min_faces=3, negative_threshold=40.0)
    closed = []
    for k in range(12):  # 0.0 … 5.5 s at 2 Hz
        faces = _faces(4, 70.0)
        faces["neg"] = _state(20.0, dominant=4)
        closed += agg.add(k * 0.5, faces)
    assert len(closed) == 1
    window = closed[0]
    assert (window.window_start, window.window_end) == (0.0, 5.0)
    assert window.faces == 5 and window.faces_min == window.faces_max == 5 and window.updates == 10
    assert window.lsi == (4 * 70.0 + 20.0) / 5
    assert window.negative_share == 0.2
    assert window.emotions["happy"] == 0.8 and window.emotions["sad"] == 0.2
    assert not window.suppressed


def test_fewer_faces_than_min_faces_is_suppressed_without_distribution():
    agg = WindowAggregator(FER2013_LABELS, 5.0, min_faces=5, negative_threshold=40.0)
    for k in range(10):
        agg.add(k * 0.5, _faces(4))
    window = agg.flush()
    assert window.suppressed and window.lsi is None and window.emotions is None
    assert window.negative_share is None and window.lsi_std is None
    assert window.faces == 4  # the count itself is not identifying and is kept


def test_gaps_produce_empty_suppressed_windows():
    agg = WindowAggregator(FER2013_LABELS, 5.0, min_faces=1, negative_threshold=40.0)
    agg.add(1.0, _faces(2))
    closed = agg.add(17.0, _faces(2))
    assert [(w.window_start, w.suppressed) for w in closed] == [(0.0, False), (5.0, True), (10.0, True)]


def test_segment_summary_has_mean_and_interval_over_reported_windows():
    agg = WindowAggregator(FER2013_LABELS, 5.0, min_faces=3, negative_threshold=40.0)
    segments = SegmentTracker()
    segments.start("lecture", "fractions", 0.0)
    windows = []
    for k, (score, count) in enumerate([(60.0, 3), (70.0, 3), (99.0, 1), (80.0, 3)]):
        windows += agg.add(k * 5.0 + 1.0, _faces(count, score))
    windows.append(agg.flush())
    for window in windows:
        segments.add(window)
    summary = segments.start("quiz", "", 20.0)  # starting the next segment ends this one
    assert (summary.kind, summary.label, summary.windows, summary.reported_windows) == ("lecture", "fractions", 4, 3)
    assert summary.lsi_mean == 70.0  # the suppressed window (1 face) does not count
    assert summary.lsi_ci95_low == round(70.0 - 4.303 * 10.0 / 3 ** 0.5, 2)
    assert segments.info["kind"] == "quiz"


def test_drop_alert_fires_once_after_being_sustained():
    cfg = AlertConfig(drop_points=15, sustain_seconds=10, baseline_seconds=10)
    monitor = AlertMonitor(cfg)
    monitor.reset(0.0)
    agg = WindowAggregator(FER2013_LABELS, 5.0, min_faces=1, negative_threshold=40.0)
    scores = [70, 70, 50, 50, 50, 50, 70, 50, 50, 50]
    fired = []
    for k, score in enumerate(scores):
        closed = agg.add(k * 5.0 + 1.0, _faces(6, float(score)))
        for window in closed:
            fired += [(window.window_start, a.kind) for a in monitor.check(window)]
    fired += [(w.window_start, a.kind) for w in [agg.flush()] for a in monitor.check(w)]
    assert [kind for _, kind in fired] == ["lsi_drop", "lsi_drop"]  # two separate episodes
    assert fired[0][0] == 15.0  # 10 s of drop: windows starting at 10 and 15
