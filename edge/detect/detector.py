"""MediaPipe full-range face detector over a tile plan, with privacy masks applied first."""

from __future__ import annotations

import logging
import math
import sys

import cv2
import numpy as np

from edge.config import DetectionConfig, PrivacyConfig
from edge.detect.tiling import Tile, merge_detections, plan_tiles, point_in_polygon
from edge.types import Detection

log = logging.getLogger("lsi_edge.detect")


def _import_mediapipe():
    """mediapipe imports TensorFlow opportunistically when it is installed (the [train] extra):
    ~500 MB of memory the appliance never uses. Hide it for the duration of the import."""
    if "tensorflow" in sys.modules:
        import mediapipe
        return mediapipe
    sys.modules["tensorflow"] = None  # makes `import tensorflow` raise ImportError, which mediapipe handles
    try:
        import mediapipe
        return mediapipe
    finally:
        del sys.modules["tensorflow"]


class PrivacyMask:
    """Drops faces whose centre lies inside any configured polygon (frame-relative coordinates)."""

    def __init__(self, cfg: PrivacyConfig):
        self.polygons = [np.asarray(p, np.float64) for p in cfg.masks]

    def allows(self, detection: Detection, width: int, height: int) -> bool:
        cx, cy = detection.centre
        return not any(point_in_polygon(cx / width, cy / height, polygon) for polygon in self.polygons)


class FaceDetector:
    """Scans a frame tile by tile; with tiles_per_frame > 0, a round-robin share of tiles per call.

    detect() returns (detections, cycle_complete): the detections found in the tiles scanned now,
    and whether this call finished a pass over every tile.
    """

    def __init__(self, cfg: DetectionConfig, privacy: PrivacyConfig):
        mp = _import_mediapipe()
        self.cfg = cfg
        self.mask = PrivacyMask(privacy)
        self._detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=cfg.min_confidence)
        self._plan: list[Tile] = []
        self._plan_shape: tuple[int, int] | None = None
        self._cursor = 0

    def tiles_for(self, width: int, height: int) -> list[Tile]:
        if self._plan_shape != (width, height):
            self._plan = plan_tiles(width, height, self.cfg.tile_size, self.cfg.tile_overlap,
                                    self.cfg.whole_frame_pass)
            self._plan_shape, self._cursor = (width, height), 0
            log.info("detection plan for %dx%d: %d tile(s) of %d px", width, height, len(self._plan),
                     self.cfg.tile_size)
        return self._plan

    @property
    def frames_per_cycle(self) -> int:
        per_frame = self.cfg.tiles_per_frame or len(self._plan) or 1
        return max(1, math.ceil(len(self._plan) / per_frame)) if self._plan else 1

    def detect(self, image: np.ndarray) -> tuple[list[Detection], bool]:
        height, width = image.shape[:2]
        plan = self.tiles_for(width, height)
        per_frame = self.cfg.tiles_per_frame or len(plan)
        start = self._cursor
        chosen = plan[start:start + per_frame]
        self._cursor = start + len(chosen)
        cycle_complete = self._cursor >= len(plan)
        if cycle_complete:
            self._cursor = 0
        found: list[Detection] = []
        for tile in chosen:
            found.extend(self._detect_tile(image, tile))
        kept = [d for d in merge_detections(found, self.cfg.nms_iou)
                if d.size >= self.cfg.min_face_px and self.mask.allows(d, width, height)]
        return kept, cycle_complete

    def _detect_tile(self, image: np.ndarray, tile: Tile) -> list[Detection]:
        # Only the scanned tiles are converted to RGB, not the whole frame.
        crop = cv2.cvtColor(image[tile.y0:tile.y1, tile.x0:tile.x1], cv2.COLOR_BGR2RGB)
        result = self._detector.process(crop)
        tw, th = tile.x1 - tile.x0, tile.y1 - tile.y0
        detections = []
        for item in result.detections or []:
            box = item.location_data.relative_bounding_box
            x0 = tile.x0 + max(box.xmin, 0.0) * tw
            y0 = tile.y0 + max(box.ymin, 0.0) * th
            x1 = tile.x0 + min(box.xmin + box.width, 1.0) * tw
            y1 = tile.y0 + min(box.ymin + box.height, 1.0) * th
            keypoints = np.array([[tile.x0 + k.x * tw, tile.y0 + k.y * th]
                                  for k in item.location_data.relative_keypoints], np.float32)
            detections.append(Detection((x0, y0, x1, y1), float(item.score[0]), keypoints))
        return detections

    def close(self) -> None:
        self._detector.close()
