"""Face crops to model input. Training and serving both call this, so they cannot drift apart."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np


def to_gray(face: np.ndarray) -> np.ndarray:
    """uint8 H×W or H×W×3 (BGR) or H×W×1 → uint8 H×W."""
    if face.dtype != np.uint8:
        raise TypeError(f"face crops must be uint8, got {face.dtype}")
    if face.ndim == 2:
        return face
    if face.ndim == 3 and face.shape[2] == 1:
        return face[:, :, 0]
    if face.ndim == 3 and face.shape[2] == 3:
        return cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"face crop must be H×W grayscale or H×W×3 BGR, got shape {face.shape}")


def resize_square(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize to size×size: area averaging when shrinking (no aliasing), bilinear when enlarging."""
    if gray.shape[0] == size and gray.shape[1] == size:
        return gray
    shrinking = gray.shape[0] > size or gray.shape[1] > size
    return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def prepare_batch(faces: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Sequence of crops → (N, size, size, 1) uint8, the model's raw-pixel input."""
    batch = np.empty((len(faces), size, size, 1), np.uint8)
    for index, face in enumerate(faces):
        batch[index, :, :, 0] = resize_square(to_gray(np.asarray(face)), size)
    return batch
