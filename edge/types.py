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

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])


@dataclass(frozen=True)
class TrackedFace:
    track_id: str  # random, anonymous, short-lived
    detection: Detection
    confirmed: bool


@dataclass(frozen=True)
class FaceObservation:
    """One classified face of one frame, as the smoother receives it."""

    track_id: str
    timestamp: float
    probabilities: np.ndarray  # (C,) calibrated


@dataclass(frozen=True)
class FaceState:
    """A confirmed track's smoothed state, as the index sees it (in memory only)."""

    track_id: str
    smoothed: np.ndarray  # (C,) smoothed probabilities
    lsi: float  # 0–100
    dominant: int
    transitions: int
    change_rate: float  # mean ‖p̂ₜ − p̂ₜ₋₁‖₁ per second
