"""Tile plans (discovery sweeps, tiles around known faces) and detection merging, as pure functions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.types import Detection

# BlazeFace short-range reads faces best at 22–70 px of its 128 px input (measured on the scripted
# classrooms): a tile around a known face is this many face sides wide, so the face lands near
# 32 px whatever its size in the frame, with room around it for neighbours and movement.
ROI_FACE_SIDES = 4.0
ROI_MAX_INPUT_FACE = 64.0  # a neighbour's tile covers a face only if it shows it at most this large
ROI_SHARED_SCALE = 0.8  # ... and at least this fraction of the size its own tile would show
ROI_LEAD = 1.5  # face sides between a new tile's top-left corner and its face (less costs recall on scripted scenes)


@dataclass(frozen=True)
class Tile:
    """A square region of the frame (it may reach past the edges: padded) and the model that reads it."""

    x0: int
    y0: int
    side: int
    model: str  # "short-range" | "full-range" (edge/detect/blazeface.py)

    @property
    def x1(self) -> int:
        return self.x0 + self.side

    @property
    def y1(self) -> int:
        return self.y0 + self.side

    def contains(self, box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
        return (box[0] - margin >= self.x0 and box[1] - margin >= self.y0
                and box[2] + margin <= self.x1 and box[3] + margin <= self.y1)


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, step))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def plan_tiles(width: int, height: int, sides: list[int], overlap: float, whole_frame: bool) -> list[Tile]:
    """A discovery sweep: for each side, overlapping square tiles covering the frame (short-range
    model); then the whole frame, letterboxed (full-range model). Sides the frame cannot hold are skipped."""
    tiles = []
    for side in sides:
        if side > min(width, height):
            continue
        step = max(1, int(side * (1.0 - overlap)))
        tiles += [Tile(x, y, side, "short-range") for y in _starts(height, side, step) for x in _starts(width, side, step)]
    if whole_frame or not tiles:
        tiles.append(Tile(0, 0, max(width, height), "full-range"))
    return tiles


def roi_tiles(boxes: list[tuple[float, float, float, float]], width: int, height: int, input_size: int) -> list[Tile]:
    """Tiles around known faces, each at its face's scale. Faces are taken in reading order and a
    new tile starts just above-left of its face, so it also takes in the neighbours to the right
    and below; a face already inside a tile that shows it at a usable scale gets none of its own."""
    tiles: list[Tile] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        size = max(box[2] - box[0], box[3] - box[1], 1.0)
        side = max(input_size, int(round(ROI_FACE_SIDES * size)))
        own = size * input_size / side
        if any(tile.contains(box, 0.25 * size)
               and ROI_SHARED_SCALE * own <= size * input_size / tile.side <= ROI_MAX_INPUT_FACE for tile in tiles):
            continue
        # inside the frame where the frame is large enough, so that no input pixel is wasted on padding
        x0 = int(round(min(max(box[0] - ROI_LEAD * size, 0.0), max(width - side, 0))))
        y0 = int(round(min(max(box[1] - ROI_LEAD * size, 0.0), max(height - side, 0))))
        tiles.append(Tile(x0, y0, side, "short-range"))
    return tiles


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def merge_detections(detections: list[Detection], iou_threshold: float) -> list[Detection]:
    """Greedy non-maximum suppression: the same face seen by overlapping tiles is kept once.

    Also merges a box that lies mostly inside a larger, higher-scoring one (a face cut by a
    tile edge) by using intersection over the smaller area. A whole face beats a part of one
    cut by its tile's edge, whatever their scores.
    """
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: (d.truncated, -d.score)):
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
