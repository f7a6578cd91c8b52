"""How much fine detail a face crop holds, for the readability gate's sharpness floor.

Measured at FER2013's own scale (48 px) on the contrast-normalised crop, so that it depends neither
on the model's input size nor on the room's lighting: the variance of the Laplacian, which blur,
defocus, motion and enlargement from few pixels all lower. The floor comes with the model
(`readability.min_sharpness` in its metadata, edge/evaluation/confusion.py): the sharpness below
which the model no longer reads faces well.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.inference.align import standardize

SHARPNESS_PX = 48


def sharpness(face: np.ndarray) -> float:
    """Variance of the Laplacian of a grey (or BGR) face crop of any size, at 48 px, contrast-normalised."""
    grey = face if face.ndim == 2 else cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    shrinking = grey.shape[0] > SHARPNESS_PX or grey.shape[1] > SHARPNESS_PX
    small = cv2.resize(grey, (SHARPNESS_PX, SHARPNESS_PX),
                       interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(standardize(small).astype(np.float32), cv2.CV_32F).var())


def sharpness_floor(values: np.ndarray, correct: np.ndarray, reads_well: float, bins: int = 10) -> tuple[float, list]:
    """The floor: the upper edge of the sharpest of the equally filled sharpness bins in which the
    model's accuracy falls below `reads_well` (0 when it reads every bin well), and the curve
    (low, high, accuracy) per bin."""
    edges = np.quantile(values, np.linspace(0.0, 1.0, bins + 1))
    which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    curve = [(float(edges[b]), float(edges[b + 1]), float(np.mean(correct[which == b])))
             for b in range(bins) if np.any(which == b)]
    below = [high for _, high, accuracy in curve if accuracy < reads_well]
    return (max(below) if below else 0.0), curve
