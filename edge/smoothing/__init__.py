"""Per-track temporal smoothing of class probabilities (in memory only)."""

from edge.smoothing.smoother import TrackSmoother, ema_alpha, ema_update, time_constant

__all__ = ["TrackSmoother", "ema_alpha", "ema_update", "time_constant"]
