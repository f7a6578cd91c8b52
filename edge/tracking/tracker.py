"""Face tracks on top of norfair: anonymous random ids, confirmation, time-based expiry."""

from __future__ import annotations

import logging
import math
import secrets

import numpy as np
from norfair import Detection as NorfairDetection
from norfair import Tracker
from norfair.filter import OptimizedKalmanFilterFactory

from edge.config import TrackingConfig
from edge.types import Detection, KnownFace, TrackedFace

# Kalman process noise (pixels², norfair's units): high enough that the filter picks up a walking
# person's speed within a few updates. The demo's walker at 4 updates/s: 2 id switches at
# norfair's default 0.1, 1 at 1.0, 0 at 5.0 (`lsi-edge bench --demo-truth`).
PROCESS_NOISE = 5.0


def _face_distance(detection: NorfairDetection, tracked) -> float:
    """Centre distance in units of the detected face's size (scale-free across the room)."""
    (dx, dy), (tx, ty) = detection.points[0], tracked.estimate[0]
    return math.hypot(dx - tx, dy - ty) / max(detection.data.size, 1.0)


def _key(obj) -> int:
    """A norfair object's number, confirmed or not yet (internal, never published)."""
    return obj.id if obj.id is not None else -obj.initializing_id


class FaceTracker:
    """update() once per detection cycle; rate is the number of updates per second of source time."""

    def __init__(self, cfg: TrackingConfig, updates_per_second: float):
        self.cfg = cfg
        self.rate = updates_per_second
        self._ids: dict[int, str] = {}
        self._tracker = self._new_tracker()
        self.ended: list[str] = []  # ids ended by the last update or reset
        self.present = 0  # confirmed tracks alive after the last update, seen in it or not
        self._fresh: set[int] = set()  # tracks the detector itself found in the last update

    def _new_tracker(self) -> Tracker:
        # norfair logs a root-logger hint about vectorised distances for every custom function;
        # with at most a few dozen faces the scalar one costs microseconds, so keep the log clean.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            return self._build_tracker()
        finally:
            root.setLevel(level)

    def _build_tracker(self) -> Tracker:
        return Tracker(
            distance_function=_face_distance,
            distance_threshold=self.cfg.distance_threshold,
            hit_counter_max=max(1, math.ceil(self.cfg.max_unseen_seconds * self.rate)),
            initialization_delay=max(0, self.cfg.confirm_hits - 1),
            pointwise_hit_counter_max=1,
            filter_factory=OptimizedKalmanFilterFactory(Q=PROCESS_NOISE),
        )

    def reset(self) -> None:
        """Scene cut: every track ends; new faces get new ids."""
        self.ended = list(self._ids.values())
        self._ids.clear()
        self._fresh.clear()
        self.present = 0
        self._tracker = self._new_tracker()

    def known(self) -> list[KnownFace]:
        """Every live track, confirmed or not yet: its last box moved to the filter's estimate of its
        centre, and whether the detector itself found it in the last update."""
        faces = []
        for obj in self._tracker.tracked_objects:
            if obj.last_detection is None:
                continue
            (cx, cy), detection = obj.estimate[0], obj.last_detection.data
            half_w, half_h = (detection.box[2] - detection.box[0]) / 2.0, (detection.box[3] - detection.box[1]) / 2.0
            key = _key(obj)
            faces.append(KnownFace(key, (cx - half_w, cy - half_h, cx + half_w, cy + half_h), detection,
                                   obj.id is not None, key in self._fresh))
        return faces

    def update(self, detections: list[Detection]) -> list[TrackedFace]:
        """Confirmed tracks matched to a detection in this update (with that detection)."""
        inputs = [NorfairDetection(points=np.array([d.centre], np.float64), data=d) for d in detections]
        active = self._tracker.update(detections=inputs)
        fresh = {id(d) for d in inputs}
        alive = {obj.id for obj in self._tracker.tracked_objects if obj.id is not None}
        self.ended = [self._ids.pop(key) for key in list(self._ids) if key not in alive]
        self.present = len(alive)
        self._fresh = {_key(obj) for obj in self._tracker.tracked_objects
                       if obj.last_detection is not None and id(obj.last_detection) in fresh
                       and not obj.last_detection.data.carried}
        faces = []
        for obj in active:
            if obj.id not in self._ids:
                self._ids[obj.id] = secrets.token_hex(4)  # random: nothing links it to a person or a run
            if obj.last_detection is not None and id(obj.last_detection) in fresh:
                faces.append(TrackedFace(self._ids[obj.id], obj.last_detection.data, confirmed=True))
        return faces
