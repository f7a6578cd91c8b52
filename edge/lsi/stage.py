"""The stages after classification: per-track smoothing, face LSI, window aggregation.

The pipeline feeds it one TrackUpdate per tracker update; the scenario evaluation replays
recorded updates through the same class to compare smoothing settings without re-detecting.
"""

from __future__ import annotations

from edge.config import LsiConfig, PrivacyConfig, SmoothingConfig
from edge.lsi.quantify import ConfusionModel
from edge.lsi.windows import ReadFace, WindowAggregate, WindowAggregator
from edge.smoothing.smoother import TrackDescriptors, TrackSmoother
from edge.types import TrackUpdate
from lsi_contract.scale import lsi, weight_vector


class IndexStage:
    def __init__(self, smoothing: SmoothingConfig, lsi_cfg: LsiConfig, privacy: PrivacyConfig,
                 labels: tuple[str, ...], confusion: ConfusionModel | None, expression: bool = True,
                 epoch_offset: float = 0.0):
        """expression False: attention mode, windows carry presence and attention only."""
        self.smoother = TrackSmoother(smoothing)
        self.weights = weight_vector(lsi_cfg.weights, labels) if expression else None
        self.aggregator = WindowAggregator(labels, lsi_cfg.window_seconds, privacy.min_faces, self.weights,
                                           lsi_cfg.shares, confusion, epoch_offset, lsi_cfg.em_support_rank,
                                           lsi_cfg.shares_from)

    def update(self, update: TrackUpdate) -> tuple[list[WindowAggregate], dict[str, TrackDescriptors]]:
        """Windows closed by this update, and the smoothed state of every face read in it."""
        self.smoother.end(update.ended)
        read: dict[str, ReadFace] = {}
        states: dict[str, TrackDescriptors] = {}
        for reading in update.readings:
            if reading.probabilities is None or self.weights is None:
                continue
            descriptors = self.smoother.update(reading.track_id, update.timestamp, reading.probabilities)
            if descriptors is not None:
                states[reading.track_id] = descriptors
                read[reading.track_id] = ReadFace(lsi(descriptors.smoothed, self.weights), descriptors,
                                                  reading.crop_px, reading.probabilities)
        heads_up = sum(int(reading.heads_up) for reading in update.readings)
        return self.aggregator.add(update.timestamp, update.present, heads_up, read), states

    def end_tracks(self, track_ids) -> None:
        self.smoother.end(track_ids)

    def flush(self) -> WindowAggregate | None:
        return self.aggregator.flush()
