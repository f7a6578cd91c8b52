"""The stages after classification: per-track smoothing, face LSI, window aggregation.

The pipeline feeds it one TrackUpdate per tracker update; the scenario evaluation replays
recorded updates through the same class to compare smoothing settings without re-detecting.
"""

from __future__ import annotations

from edge.config import LsiConfig, PrivacyConfig, SmoothingConfig
from edge.lsi.index import lsi, weight_vector
from edge.lsi.windows import WindowAggregate, WindowAggregator
from edge.smoothing.smoother import TrackDescriptors, TrackSmoother
from edge.types import TrackUpdate


class IndexStage:
    def __init__(self, smoothing: SmoothingConfig, lsi_cfg: LsiConfig, privacy: PrivacyConfig,
                 labels: tuple[str, ...], epoch_offset: float = 0.0):
        self.smoother = TrackSmoother(smoothing)
        self.weights = weight_vector(lsi_cfg.weights, labels)
        self.aggregator = WindowAggregator(labels, lsi_cfg.window_seconds, privacy.min_faces,
                                           lsi_cfg.negative_threshold, epoch_offset)

    def update(self, update: TrackUpdate) -> tuple[list[WindowAggregate], dict[str, TrackDescriptors]]:
        """Windows closed by this update, and the smoothed state of every track it carried."""
        self.smoother.end(update.ended)
        states: dict[str, tuple[float, TrackDescriptors]] = {}
        for reading in update.readings:
            descriptors = self.smoother.update(reading.track_id, update.timestamp, reading.probabilities)
            if descriptors is not None:
                states[reading.track_id] = (lsi(descriptors.smoothed, self.weights), descriptors)
        closed = self.aggregator.add(update.timestamp, states)
        return closed, {track_id: descriptors for track_id, (_, descriptors) in states.items()}

    def end_tracks(self, track_ids) -> None:
        self.smoother.end(track_ids)

    def flush(self) -> WindowAggregate | None:
        return self.aggregator.flush()
