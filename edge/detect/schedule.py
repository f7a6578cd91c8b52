"""Which tiles each frame scans: detection cost follows the faces, not the frames.

Work is organised in cycles of source time (1 / detection.updates_per_second). A cycle scans a
tile around every known face, at that face's own scale, plus a slice of the discovery sweep
(every tile of the plan once per detection.sweep_seconds); the cycle's tiles are spread over its
frames, and the tracker is updated once at its end. After start and after a scene cut the first
cycle carries the whole sweep, so a room is found at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edge.config import DetectionConfig
from edge.detect.tiling import Tile, roi_tiles


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

    def restart(self) -> None:
        """Scene cut: drop the cycle under way; the next one sweeps everything."""
        self._queue = []
        self._whole_sweep = True

    def next_frame(self, known_boxes: list[tuple[float, float, float, float]], width: int, height: int
                   ) -> tuple[list[Tile], bool]:
        """This frame's tiles, and whether the frame ends a cycle (time for a tracker update)."""
        if not self._queue:
            self._queue = self._plan_cycle(known_boxes, width, height)
        tiles = self._queue.pop(0)
        return tiles, not self._queue

    def _plan_cycle(self, known_boxes, width: int, height: int) -> list[list[Tile]]:
        if self._whole_sweep:
            discovery, self._whole_sweep, self._cursor = list(self.plan), False, 0
        else:
            count = self.cadence.discovery_per_cycle
            discovery = [self.plan[(self._cursor + i) % len(self.plan)] for i in range(count)]
            self._cursor = (self._cursor + count) % len(self.plan)
        work = roi_tiles(known_boxes, width, height, self.roi_input_size) + discovery
        frames = self.cadence.frames_per_cycle
        return [work[i * len(work) // frames:(i + 1) * len(work) // frames] for i in range(frames)]
