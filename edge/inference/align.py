"""Face crop for the classifier: level the eyes, square crop with margin, normalise illumination."""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge.types import Detection

# Grey-level statistics of FER2013 faces (per-image mean and standard deviation, PublicTest):
# crops are mapped to them so a dim or washed-out classroom looks like the training data.
FER_MEAN, FER_STD = 129.0, 54.0


def standardize(crop: np.ndarray) -> np.ndarray:
    """Linear illumination normalisation to FER2013's mean and contrast."""
    values = crop.astype(np.float32)
    scale = FER_STD / max(float(values.std()), 1.0)
    return np.clip((values - values.mean()) * scale + FER_MEAN, 0, 255).astype(np.uint8)


def eye_angle(detection: Detection) -> float:
    """Roll in degrees from MediaPipe's eye keypoints (subject's right eye is on the image left)."""
    (rx, ry), (lx, ly) = detection.keypoints[0], detection.keypoints[1]
    return math.degrees(math.atan2(ly - ry, lx - rx))


def aligned_crop(grey: np.ndarray, detection: Detection, size: int, margin: float, illumination: str,
                 level_eyes: bool = True, offset: float = 0.0) -> np.ndarray:
    """One warp from the grey frame straight to a size×size crop, eyes level (unless told not to).

    The crop's side is the detected box's size times (1 + 2·margin); its centre lies `offset` box
    sizes below the box centre along the face's own vertical axis (negative: above), so that the
    crop frames the face as the training data does (FER2013's faces sit higher in their frame than
    in the detector's box: edge/evaluation/framing.py)."""
    angle = eye_angle(detection) if level_eyes else 0.0
    roll = math.radians(angle)  # the face's downward axis is the eye line turned by +90°: (−sin, cos)
    cx = detection.centre[0] - offset * detection.size * math.sin(roll)
    cy = detection.centre[1] + offset * detection.size * math.cos(roll)
    side = detection.size * (1.0 + 2.0 * margin)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, size / side)
    matrix[:, 2] += (size / 2.0 - cx, size / 2.0 - cy)
    crop = cv2.warpAffine(grey, matrix, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    if illumination == "standardize":
        return standardize(crop)
    if illumination == "clahe":
        return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(crop)
    if illumination == "equalize":
        return cv2.equalizeHist(crop)
    return crop
