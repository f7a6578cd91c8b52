"""Face detection over a list of tiles with BlazeFace on LiteRT, privacy masks applied first."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edge.config import DetectionConfig, PrivacyConfig
from edge.detect.blazeface import MODELS, SHORT_RANGE, BlazeFace, weighted_nms
from edge.detect.tiling import Tile, merge_detections, plan_tiles, point_in_polygon, roi_tiles
from edge.types import Detection

log = logging.getLogger("lsi_edge.detect")
EDGE_FRACTION = 0.02  # a box this close to its tile's edge counts as cut by it


class PrivacyMask:
    """Drops faces whose centre lies inside any configured polygon (frame-relative coordinates)."""

    def __init__(self, cfg: PrivacyConfig):
        self.polygons = [np.asarray(p, np.float64) for p in cfg.masks]

    def allows(self, detection: Detection, width: int, height: int) -> bool:
        cx, cy = detection.centre
        return not any(point_in_polygon(cx / width, cy / height, polygon) for polygon in self.polygons)


def tile_input(image: np.ndarray, tile: Tile, input_size: int) -> np.ndarray:
    """The tile's pixels as the model's RGB input; parts outside the frame are black (letterbox)."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = max(tile.x0, 0), max(tile.y0, 0), min(tile.x1, width), min(tile.y1, height)
    scale = input_size / tile.side
    region = image[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    resized = cv2.resize(region, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if size == (input_size, input_size) and (x0, y0) == (tile.x0, tile.y0):
        return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    canvas = np.zeros((input_size, input_size, 3), np.uint8)
    ox, oy = round((x0 - tile.x0) * scale), round((y0 - tile.y0) * scale)
    h, w = min(size[1], input_size - oy), min(size[0], input_size - ox)
    canvas[oy:oy + h, ox:ox + w] = cv2.cvtColor(resized[:h, :w], cv2.COLOR_BGR2RGB)
    return canvas


class FaceDetector:
    """scan(image, tiles) finds the faces in the given tiles; sweep(image) in every tile of the
    discovery plan at once (the survey, the demo's check). Which tiles a frame gets is the
    schedule's business (edge/detect/schedule.py)."""

    def __init__(self, cfg: DetectionConfig, privacy: PrivacyConfig):
        self.cfg = cfg
        self.mask = PrivacyMask(privacy)
        self._models: dict[str, BlazeFace] = {}
        self._plan: list[Tile] = []
        self._plan_shape: tuple[int, int] | None = None

    def model(self, name: str) -> BlazeFace:
        if name not in self._models:
            self._models[name] = BlazeFace(MODELS[name], self.cfg.min_confidence)
        return self._models[name]

    def discovery_plan(self, width: int, height: int) -> list[Tile]:
        if self._plan_shape != (width, height):
            self._plan = plan_tiles(width, height, self.cfg.tile_sizes, self.cfg.tile_overlap, self.cfg.whole_frame_pass)
            self._plan_shape = (width, height)
            sides = sorted({tile.side for tile in self._plan if tile.model == "short-range"})
            log.info("discovery sweep for %dx%d: %d tiles (sides %s px%s)", width, height, len(self._plan),
                     ", ".join(map(str, sides)) or "none", ", and the whole frame"
                     if any(tile.model == "full-range" for tile in self._plan) else "")
        return self._plan

    def sweep(self, image: np.ndarray) -> list[Detection]:
        """Every tile of the plan, then a tile around each face found, at its scale (as the
        appliance's next cycle would): a face cut by a discovery tile's edge is then seen whole."""
        height, width = image.shape[:2]
        found = self.scan(image, self.discovery_plan(width, height))
        around = roi_tiles([d.box for d in found], width, height, SHORT_RANGE.input_size)
        return merge_detections(self.scan(image, around) + found, self.cfg.nms_iou)

    def scan(self, image: np.ndarray, tiles: list[Tile]) -> list[Detection]:
        height, width = image.shape[:2]
        found: list[Detection] = []
        for tile in tiles:
            found.extend(self._detect_tile(image, tile))
        return [d for d in merge_detections(found, self.cfg.nms_iou)
                if d.size >= self.cfg.min_face_px and self.mask.allows(d, width, height)]

    def _detect_tile(self, image: np.ndarray, tile: Tile) -> list[Detection]:
        model = self.model(tile.model)
        boxes, keypoints, scores = model.score(tile_input(image, tile, model.model.input_size))
        height, width = image.shape[:2]
        limits = np.array([width, height, width, height], np.float64)
        detections = []
        # an edge of the tile that lies inside the frame may cut a face
        inner = np.array([tile.x0 > 0, tile.y0 > 0, tile.x1 < width, tile.y1 < height])
        for box, points, score in weighted_nms(boxes, keypoints, scores, self.cfg.nms_iou):
            frame_box = np.clip(box * tile.side + (tile.x0, tile.y0, tile.x0, tile.y0), 0.0, limits)
            at_edge = np.array([box[0], box[1], 1.0 - box[2], 1.0 - box[3]]) < EDGE_FRACTION
            detections.append(Detection(tuple(float(v) for v in frame_box), score,
                                        (points * tile.side + (tile.x0, tile.y0)).astype(np.float32),
                                        truncated=bool(np.any(at_edge & inner))))
        return detections

    def close(self) -> None:
        self._models.clear()
