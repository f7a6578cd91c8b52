"""Accuracy cost of each illumination normalisation, on FER2013 PublicTest (the selection split)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge import metrics
from edge.datasets import load_fer2013
from edge.evaluation.report import batched_logits
from edge.inference import ExpressionClassifier
from edge.inference.align import standardize

NORMALISERS = {
    "none": lambda image: image,
    "standardize": standardize,
    "clahe": lambda image: cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(image),
    "equalize": cv2.equalizeHist,
}


def illumination_accuracy(shared: Path, model: Path | None = None) -> dict[str, float]:
    val = load_fer2013(shared, with_ferplus=False)["val"]
    classifier = ExpressionClassifier.load(model, threads=2)
    results = {}
    for name, normalise in NORMALISERS.items():
        images = np.stack([normalise(image) for image in val.images])
        predicted = batched_logits(classifier, images).argmax(axis=1)
        results[name] = round(metrics.accuracy(val.labels, predicted), 4)
    return results
