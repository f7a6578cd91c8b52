"""Which tiles each frame scans: detection cost follows the faces, not the frames.

Work is organised in cycles of source time (1 / detection.updates_per_second). A cycle scans a
tile around every known face, at that face's own scale, plus a slice of the discovery sweep
(every tile of the plan once per detection.sweep_seconds); the cycle's tiles are spread over its
frames, and the tracker is updated once at its end. After start and after a scene cut the first
cycle carries the whole sweep, so a room is found at once. A discovery tile whose pixels have not
changed since it was last scanned (frame differencing on an 8 × 8 thumbnail) is skipped, up to
STATIC_SKIPS sweeps in a row: a wall or an empty desk costs nothing, a student who comes in moves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from edge.config import DetectionConfig
from edge.detect.tiling import Tile, roi_tiles

THUMBNAIL = 8  # side of a discovery tile's change signature
STATIC_CHANGE = 6.0  # grey levels (largest thumbnail difference) below which a tile has not changed
STATIC_SKIPS = 3  # an unchanged tile is still scanned every STATIC_SKIPS + 1 sweeps


def thumbnail(image: np.ndarray, tile: Tile) -> np.ndarray:
    """A cheap signature of a tile's pixels (the part inside the frame), for frame differencing."""
    region = image[max(tile.y0, 0):tile.y1, max(tile.x0, 0):tile.x1]
    small = cv2.resize(region, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32).mean(axis=2) if small.ndim == 3 else small.astype(np.float32)


@dataclass(frozen=True)
class Cadence:
    """How the cycles fall on a source of a given frame rate (pure arithmetic, for tests and docs)."""

    frames_per_cycle: int
    discovery_per_cycle: int  # discovery tiles per cycle, round robin

    @classmethod
    def of(cls, cfg: DetectionConfig, fps: float, plan_tiles: int) -> Cadence:
        frames = max(1, round(fps / cfg.updates_per_second))
        cycle_seconds = frames / fps
        return cls(frames, min(plan_tiles, max(1, math.ceil(plan_tiles * cycle_seconds / cfg.sweep_seconds))))

    def updates_per_second(self, fps: float) -> float:
        return fps / self.frames_per_cycle


class DetectionSchedule:
    def __init__(self, cfg: DetectionConfig, fps: float, plan: list[Tile], roi_input_size: int):
        self.plan = plan
        self.cadence = Cadence.of(cfg, fps, len(plan))
        self.roi_input_size = roi_input_size
        self._cursor = 0  # next discovery tile
        self._queue: list[list[Tile]] = []  # the current cycle's remaining frames
        self._whole_sweep = True
        self._last_seen: dict[Tile, tuple[np.ndarray, int]] = {}  # thumbnail when last scanned, sweeps skipped
        self.discovery_skipped = 0

    def restart(self) -> None:
        """Scene cut: drop the cycle under way; the next one sweeps everything."""
        self._queue = []
        self._whole_sweep = True
        self._last_seen.clear()

    def next_frame(self, image: np.ndarray, known_boxes: Callable[[], list[tuple[float, float, float, float]]]
                   ) -> tuple[list[Tile], bool]:
        """This frame's tiles, and whether the frame ends a cycle (time for a tracker update).
        known_boxes is asked only when a cycle is planned."""
        if not self._queue:
            self._queue = self._plan_cycle(image, known_boxes())
        tiles = self._queue.pop(0)
        return tiles, not self._queue

    def _changed(self, image: np.ndarray, tile: Tile) -> bool:
        now = thumbnail(image, tile)
        before = self._last_seen.get(tile)
        if before is not None and before[1] < STATIC_SKIPS and float(np.abs(now - before[0]).max()) < STATIC_CHANGE:
            self._last_seen[tile] = (before[0], before[1] + 1)
            return False
        self._last_seen[tile] = (now, 0)
        return True

    def _plan_cycle(self, image: np.ndarray, known_boxes) -> list[list[Tile]]:
        height, width = image.shape[:2]
        if self._whole_sweep:
            discovery, self._whole_sweep, self._cursor = list(self.plan), False, 0
            for tile in discovery:
                self._last_seen[tile] = (thumbnail(image, tile), 0)
        else:
            count = self.cadence.discovery_per_cycle
            due = [self.plan[(self._cursor + i) % len(self.plan)] for i in range(count)]
            self._cursor = (self._cursor + count) % len(self.plan)
            discovery = [tile for tile in due if self._changed(image, tile)]
            self.discovery_skipped += len(due) - len(discovery)
        work = roi_tiles(known_boxes, width, height, self.roi_input_size) + discovery
        frames = self.cadence.frames_per_cycle
        return [work[i * len(work) // frames:(i + 1) * len(work) // frames] for i in range(frames)]
