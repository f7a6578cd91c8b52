"""MediaPipe's BlazeFace detectors run directly on LiteRT: many tiles per call, our own decoding.

The two models ship inside the mediapipe wheel (Apache-2.0; see docs/model-card.md). Running
them without mediapipe's graph lets one interpreter call score a batch of tiles of any scale,
and lets the tile plan choose each tile's scale (a far row is magnified, a near one shrunk).
The anchor layout and box encoding follow the models' published SSD configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class BlazeFaceModel:
    name: str
    file: str  # inside mediapipe/modules/face_detection/
    input_size: int
    strides: tuple[int, ...]  # one entry per SSD layer; layers of equal stride share a feature map
    anchors_per_layer: int  # aspect ratio 1 plus the interpolated scale
    # Vertical shift (fraction of the box) that brings the box to full-range's convention, which the
    # classifier's crop margin was tuned on: short-range boxes sit 0.04 box lower on the same faces
    # (median over frontal faces of the scripted classrooms).
    box_shift_y: float = 0.0

    @property
    def path(self) -> Path:
        spec = find_spec("mediapipe")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("mediapipe is not installed; it carries the face detection models "
                               "(run the README's set-up command)")
        return Path(list(spec.submodule_search_locations)[0]) / "modules" / "face_detection" / self.file


FULL_RANGE = BlazeFaceModel("full-range", "face_detection_full_range_sparse.tflite", 192, (4,), 1)
SHORT_RANGE = BlazeFaceModel("short-range", "face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2, -0.04)
MODELS = {m.name: m for m in (FULL_RANGE, SHORT_RANGE)}
KEYPOINTS = 6
SCORE_CLIP = 100.0


def ssd_anchors(model: BlazeFaceModel) -> np.ndarray:
    """(N, 2) anchor centres in input-relative units, in the order of the model's outputs."""
    centres = []
    layer = 0
    while layer < len(model.strides):
        stride = model.strides[layer]
        same = 1
        while layer + same < len(model.strides) and model.strides[layer + same] == stride:
            same += 1
        cells = int(np.ceil(model.input_size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, same * model.anchors_per_layer, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def decode(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, input_size: int,
           min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One tile's raw outputs → (boxes (M, 4) x0 y0 x1 y1, keypoints (M, 6, 2), scores (M,)), input-relative."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
    keep = np.flatnonzero(scores >= min_score)
    raw = regressors[keep] / input_size
    centre = raw[:, :2] + anchors[keep]
    half = raw[:, 2:4] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:4 + 2 * KEYPOINTS].reshape(-1, KEYPOINTS, 2) + anchors[keep][:, None, :]
    return boxes, keypoints, scores[keep]


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float
                 ) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Overlapping candidates of one face are averaged, weighted by score (BlazeFace's own blending)."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.arange(len(scores))
    faces = []
    while remaining.size:
        top = remaining[0]
        group = remaining[box_iou(boxes[top], boxes[remaining]) > iou_threshold]
        weights = scores[group] / scores[group].sum()
        faces.append((weights @ boxes[group], np.tensordot(weights, keypoints[group], axes=1), float(scores[top])))
        remaining = np.setdiff1d(remaining, group, assume_unique=True)
    return faces


class BlazeFace:
    """One interpreter; score(tile) runs one input-sized RGB tile (batching tiles measured no faster
    per tile on XNNPACK here: 4.1 ms at batch 1, 4.4 ms at batch 4, full-range model)."""

    def __init__(self, model: BlazeFaceModel, min_score: float, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.model, self.min_score = model, min_score
        self.anchors = ssd_anchors(model)
        self._interpreter = Interpreter(str(model.path), num_threads=threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        by_width = {int(d["shape"][-1]): d["index"] for d in self._interpreter.get_output_details()}
        self._regressors, self._logits = by_width[4 + 2 * KEYPOINTS], by_width[1]
        size = model.input_size
        self._buffer = np.zeros((1, size, size, 3), np.float32)

    def score(self, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """An input_size² RGB uint8 tile → its candidates (input-relative), before suppression."""
        np.multiply(tile, 1.0 / 127.5, out=self._buffer[0], casting="unsafe")
        self._buffer -= 1.0
        self._interpreter.set_tensor(self._input, self._buffer)
        self._interpreter.invoke()
        boxes, keypoints, scores = decode(self._interpreter.get_tensor(self._regressors)[0],
                                          self._interpreter.get_tensor(self._logits)[0], self.anchors,
                                          self.model.input_size, self.min_score)
        if self.model.box_shift_y:
            boxes[:, [1, 3]] += self.model.box_shift_y * (boxes[:, 3] - boxes[:, 1])[:, None]
        return boxes, keypoints, scores
