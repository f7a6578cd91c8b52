"""What passes between pipeline stages. Per-face data never leaves the process."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # H×W×3 BGR uint8; lives in memory only
    timestamp: float  # seconds of source time (video time for files, wall clock for live sources)
    index: int  # position in the source


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in frame pixels
    score: float
    keypoints: np.ndarray  # (6, 2) pixels: right eye, left eye, nose tip, mouth, right ear, left ear
    truncated: bool = False  # touches an edge of its tile inside the frame: maybe part of a face
    carried: bool = False  # not detected now: a known face's last detection, carried between two fresh ones

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


@dataclass(frozen=True)
class KnownFace:
    """A live track as the detection schedule sees it."""

    key: int  # the tracker's internal number, never published
    box: tuple[float, float, float, float]  # where it is expected now
    last: Detection  # its last detection
    confirmed: bool
    fresh: bool  # found by the detector (not carried) in the last update


@dataclass(frozen=True)
class TrackedFace:
    track_id: str  # random, anonymous, short-lived
    detection: Detection
    confirmed: bool


@dataclass(frozen=True)
class FaceReading:
    """One confirmed track's classification in one update, as the index stage receives it."""

    track_id: str
    box: tuple[float, float, float, float]
    probabilities: np.ndarray | None  # (C,) calibrated, this update only; None: the face was not readable
    heads_up: bool  # facing the front of the room, head not bent down
    crop_px: float  # side of the frame region the classifier saw (or would have seen)


@dataclass(frozen=True)
class TrackUpdate:
    """Everything the smoothing and index stages see of one tracker update (in memory only)."""

    timestamp: float  # source seconds
    readings: tuple[FaceReading, ...]  # confirmed tracks detected in this update
    ended: tuple[str, ...]  # track ids that ended with this update
    present: int  # confirmed tracks alive, detected in this update or not (a bent head may be missed)
