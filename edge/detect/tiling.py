"""Tile plans and detection merging, as pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.types import Detection


@dataclass(frozen=True)
class Tile:
    x0: int
    y0: int
    x1: int
    y1: int


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, step))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def plan_tiles(width: int, height: int, tile_size: int, overlap: float, whole_frame: bool) -> list[Tile]:
    """Square tiles of tile_size with the given overlap, covering the frame; the whole frame first.

    A frame that fits in about one tile is scanned whole only.
    """
    whole = Tile(0, 0, width, height)
    if max(width, height) <= tile_size * 1.5:
        return [whole]
    side = min(tile_size, width, height)
    step = max(1, int(side * (1.0 - overlap)))
    tiles = [Tile(x, y, x + side, y + side) for y in _starts(height, side, step) for x in _starts(width, side, step)]
    return ([whole] if whole_frame else []) + tiles


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def merge_detections(detections: list[Detection], iou_threshold: float) -> list[Detection]:
    """Greedy non-maximum suppression: the same face seen by overlapping tiles is kept once.

    Also merges a box that lies mostly inside a larger, higher-scoring one (a face cut by a
    tile edge) by using intersection over the smaller area.
    """
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: d.score, reverse=True):
        duplicate = False
        for other in kept:
            if iou(candidate.box, other.box) > iou_threshold or _containment(candidate.box, other.box) > 0.7:
                duplicate = True
                break
        if not duplicate:
            kept.append(candidate)
    return kept


def _containment(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / smaller if smaller > 0 else 0.0


def point_in_polygon(x: float, y: float, polygon: np.ndarray) -> bool:
    """Even-odd rule; polygon is (K, 2)."""
    inside = False
    count = len(polygon)
    for i in range(count):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % count]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside
