"""Track id stability on scripted motion, expiry, confirmation, scene cuts."""

import re

import numpy as np

from edge.config import TrackingConfig
from edge.tracking.tracker import FaceTracker
from edge.types import Detection


def _face(cx: float, cy: float, size: float = 40.0) -> Detection:
    half = size / 2
    return Detection((cx - half, cy - half, cx + half, cy + half), 0.9, np.zeros((6, 2), np.float32))


def _paths(t: float) -> list[tuple[float, float]]:
    """Five faces: two sway, one walks across the room, two pass close to each other."""
    return [(100 + 5 * np.sin(t), 100.0), (300.0, 120 + 4 * np.cos(t)), (50 + 60 * t, 300.0),
            (500 - 20 * t, 200.0), (420 + 20 * t, 205.0)]


def test_ids_stay_stable_under_scripted_motion():
    tracker = FaceTracker(TrackingConfig(confirm_hits=3, max_unseen_seconds=1.0), updates_per_second=8.0)
    history: dict[int, set[str]] = {k: set() for k in range(5)}
    for step in range(80):  # 10 s at 8 Hz
        t = step / 8.0
        detections = [_face(x, y) for x, y in _paths(t)]
        faces = tracker.update(detections)
        for face in faces:
            index = detections.index(face.detection)
            history[index].add(face.track_id)
    assert all(len(ids) == 1 for ids in history.values()), history
    assert len(set().union(*history.values())) == 5


def test_confirmation_needs_n_hits():
    tracker = FaceTracker(TrackingConfig(confirm_hits=3), updates_per_second=8.0)
    assert tracker.update([_face(100, 100)]) == []
    assert tracker.update([_face(101, 100)]) == []
    assert len(tracker.update([_face(102, 100)])) == 1


def test_track_ends_after_max_unseen_seconds():
    tracker = FaceTracker(TrackingConfig(confirm_hits=1, max_unseen_seconds=1.0), updates_per_second=4.0)
    for _ in range(8):
        (face,) = tracker.update([_face(100, 100)])
    first = face.track_id
    ended = []
    for _ in range(8):  # 2 s without the face
        tracker.update([])
        ended += tracker.ended
    assert ended == [first]
    for _ in range(2):
        faces = tracker.update([_face(100, 100)])
    assert faces and faces[0].track_id != first  # a returning face gets a new anonymous id


def test_ids_are_random_and_anonymous():
    tracker = FaceTracker(TrackingConfig(confirm_hits=1), updates_per_second=8.0)
    faces = tracker.update([_face(100 * k, 100) for k in range(1, 6)])
    ids = [f.track_id for f in faces]
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)
    assert sorted(ids) != [str(k) for k in range(1, 6)]
    other = FaceTracker(TrackingConfig(confirm_hits=1), updates_per_second=8.0)
    assert not set(ids) & {f.track_id for f in other.update([_face(100 * k, 100) for k in range(1, 6)])}


def test_scene_cut_reset_ends_every_track():
    tracker = FaceTracker(TrackingConfig(confirm_hits=1), updates_per_second=8.0)
    before = {f.track_id for f in tracker.update([_face(100, 100), _face(300, 100)])}
    tracker.reset()
    assert set(tracker.ended) == before
    after = {f.track_id for f in tracker.update([_face(100, 100), _face(300, 100)])}
    assert not before & after
