"""Scene-cut detection from a coarse grey histogram, as pure functions."""

from __future__ import annotations

import cv2
import numpy as np


def frame_signature(image: np.ndarray) -> np.ndarray:
    """A 32-bin normalised grey histogram of a downscaled frame (cheap, camera-motion tolerant)."""
    small = cv2.resize(image, (160, 90), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    hist = cv2.calcHist([grey], [0], None, [32], [0, 256]).ravel()
    return (hist / max(hist.sum(), 1.0)).astype(np.float32)


def signature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance: 0 identical, 1 disjoint."""
    return float(cv2.compareHist(a, b, cv2.HISTCMP_BHATTACHARYYA))
