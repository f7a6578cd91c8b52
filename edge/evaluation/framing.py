"""Where FER2013's framing lies relative to the detector's box.

The model learned faces framed as FER2013 frames them; the appliance crops around the detector's
box, which follows its own convention (BlazeFace's box is tight and sits low on the face). Both
frames are seen at once by detecting PublicTest faces alone on a canvas: the image's side over the
box's side gives the margin, the image's centre against the box's centre the vertical offset. Their
medians are the defaults of `classifier.crop_margin` and `classifier.crop_offset`;
`lsi-edge eval --framing` measures them again (and a test checks that the defaults agree).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.config import load_config
from edge.datasets import load_fer2013
from edge.detect.detector import FaceDetector
from edge.detect.tiling import Tile

FACE_PX = 96  # each face enlarged to this, well inside the short-range model's range
CANVAS_PX = 192  # the face in the middle of a canvas twice its size
# What surrounds the face on the canvas moves the box a little (the real room's hair, neck and
# background are neither): each face is measured on both, its own edges continued and flat grey.
BORDERS = ((cv2.BORDER_REPLICATE, 0), (cv2.BORDER_CONSTANT, 128))


def framing_of(face: np.ndarray, detector: FaceDetector, border_type: int = cv2.BORDER_REPLICATE,
               border_value: int = 0) -> tuple[float, float] | None:
    """(margin, offset) of one 48×48 face: its frame as the detector's box plus a margin, shifted
    along the vertical by offset box sizes (negative: the frame's centre is above the box's)."""
    enlarged = cv2.resize(face, (FACE_PX, FACE_PX), interpolation=cv2.INTER_LINEAR)
    border = (CANVAS_PX - FACE_PX) // 2
    canvas = cv2.copyMakeBorder(enlarged, border, CANVAS_PX - FACE_PX - border, border,
                                CANVAS_PX - FACE_PX - border, border_type, value=border_value)
    found = detector.scan(cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR), [Tile(0, 0, CANVAS_PX, "short-range")])
    if not found:
        return None
    box = max(found, key=lambda d: d.score)
    centre_y = (box.box[1] + box.box[3]) / 2.0
    return (FACE_PX / box.size - 1.0) / 2.0, (border + FACE_PX / 2.0 - centre_y) / box.size


def measure_framing(shared: Path, faces: int | None = None) -> dict:
    """Medians (and quartiles) over the PublicTest faces the detector finds, on both canvases;
    faces: the first N only."""
    cfg = load_config(None)
    detector = FaceDetector(cfg.detection, cfg.privacy)
    images = load_fer2013(shared, with_ferplus=False)["val"].images[:faces]
    measured = np.array([m for face in images for border in BORDERS
                         if (m := framing_of(face, detector, *border)) is not None])
    detector.close()
    if not len(measured):
        raise RuntimeError("the detector found none of the PublicTest faces: is the detector model intact?")
    quartiles = np.percentile(measured, [25, 50, 75], axis=0)
    return {"faces": int(len(images)), "canvases": len(BORDERS), "found": int(len(measured)),
            "crop_margin": round(float(quartiles[1, 0]), 3), "crop_offset": round(float(quartiles[1, 1]), 3),
            "crop_margin_quartiles": [round(float(v), 3) for v in quartiles[[0, 2], 0]],
            "crop_offset_quartiles": [round(float(v), 3) for v in quartiles[[0, 2], 1]]}
