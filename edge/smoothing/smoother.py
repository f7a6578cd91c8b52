"""Time-aware EMA or sliding-window smoothing, with confidence weighting and track descriptors.

The EMA p̂ₜ = α·pₜ + (1−α)·p̂ₜ₋₁ is specified by α at a reference rate. Holding the time constant
τ = −Δt_ref / ln(1−α_ref) fixed and using α(Δt) = 1 − exp(−Δt/τ) makes the result independent of
the rate frames actually arrive at: two steps of Δt equal one step of 2Δt.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge.config import SmoothingConfig


def time_constant(alpha: float, reference_fps: float) -> float:
    """τ in seconds such that a step of 1/reference_fps has weight alpha."""
    return -1.0 / (reference_fps * math.log(1.0 - alpha))


def ema_alpha(dt: float, tau: float) -> float:
    """Weight of an observation dt seconds after the previous one."""
    return 1.0 - math.exp(-max(dt, 0.0) / tau)


def ema_update(previous: np.ndarray, observation: np.ndarray, alpha: float) -> np.ndarray:
    return alpha * observation + (1.0 - alpha) * previous


def dominant_class(smoothed: np.ndarray, current: int, margin: float) -> int:
    """The top class, but the current one holds until another beats it by `margin` (hysteresis:
    two classes of nearly equal probability would otherwise swap the dominant class back and forth)."""
    top = int(smoothed.argmax())
    return top if smoothed[top] >= smoothed[current] + margin else current


def observation_weight(probabilities: np.ndarray, min_confidence: float, low_weight: float) -> float:
    """1 for a confident observation, low_weight (0 = ignore) when the top class is below min_confidence."""
    return 1.0 if float(probabilities.max()) >= min_confidence else low_weight


@dataclass
class _Track:
    smoothed: np.ndarray
    last_time: float
    first_time: float
    dominant: int
    dominant_since: float
    transitions: int = 0
    change_total: float = 0.0  # Σ‖p̂ₜ − p̂ₜ₋₁‖₁
    last_change: float = 0.0
    dominant_changed: bool = False
    history: deque = field(default_factory=deque)  # (time, probabilities, weight), window method only


@dataclass(frozen=True)
class TrackDescriptors:
    smoothed: np.ndarray
    dominant: int
    dominance_seconds: float  # how long the current dominant class has held
    transitions: int  # changes of dominant class
    change_rate: float  # Σ‖Δp̂‖₁ per second of the track's life
    last_change: float  # ‖p̂ₜ − p̂ₜ₋₁‖₁ of the latest update
    dominant_changed: bool  # the latest update changed the dominant class


class TrackSmoother:
    """Smoothed probabilities and descriptors for every live track id."""

    def __init__(self, cfg: SmoothingConfig):
        self.cfg = cfg
        self.tau = time_constant(cfg.alpha, cfg.reference_fps)
        self._tracks: dict[str, _Track] = {}

    def update(self, track_id: str, timestamp: float, probabilities: np.ndarray) -> TrackDescriptors | None:
        weight = observation_weight(probabilities, self.cfg.min_confidence, self.cfg.low_confidence_weight)
        track = self._tracks.get(track_id)
        if track is None:
            if weight == 0.0:
                return None  # never start a track from an observation we would ignore
            smoothed = probabilities.astype(np.float64)
            dominant = int(smoothed.argmax())
            track = _Track(smoothed, timestamp, timestamp, dominant, timestamp)
            if self.cfg.method == "window":
                track.history.append((timestamp, smoothed, weight))
            self._tracks[track_id] = track
            return self.describe(track_id)
        previous = track.smoothed
        if self.cfg.method == "none":
            if weight > 0:
                track.smoothed = probabilities.astype(np.float64)
        elif self.cfg.method == "ema":
            alpha = ema_alpha(timestamp - track.last_time, self.tau) if self.cfg.time_aware else self.cfg.alpha
            track.smoothed = ema_update(previous, probabilities.astype(np.float64), alpha * weight)
        else:
            track.history.append((timestamp, probabilities.astype(np.float64), weight))
            while track.history and track.history[0][0] < timestamp - self.cfg.window_seconds:
                track.history.popleft()
            weights = np.array([w for _, _, w in track.history])
            if weights.sum() > 0:
                stacked = np.stack([p for _, p, _ in track.history])
                track.smoothed = (weights[:, None] * stacked).sum(axis=0) / weights.sum()
        change = float(np.abs(track.smoothed - previous).sum())
        track.change_total += change
        dominant = dominant_class(track.smoothed, track.dominant, self.cfg.switch_margin)
        track.last_change, track.dominant_changed = change, dominant != track.dominant
        if dominant != track.dominant:
            track.transitions += 1
            track.dominant, track.dominant_since = dominant, timestamp
        track.last_time = timestamp
        return self.describe(track_id)

    def describe(self, track_id: str) -> TrackDescriptors:
        track = self._tracks[track_id]
        life = track.last_time - track.first_time
        return TrackDescriptors(
            smoothed=track.smoothed.astype(np.float32), dominant=track.dominant,
            dominance_seconds=track.last_time - track.dominant_since, transitions=track.transitions,
            change_rate=track.change_total / life if life > 0 else 0.0,
            last_change=track.last_change, dominant_changed=track.dominant_changed)

    def end(self, track_ids) -> None:
        for track_id in track_ids:
            self._tracks.pop(track_id, None)

    def __contains__(self, track_id: str) -> bool:
        return track_id in self._tracks

    def __len__(self) -> int:
        return len(self._tracks)
