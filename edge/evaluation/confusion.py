"""What the index needs to know about the shipped model, measured on FER2013 PublicTest.

- E[p | true class] at several face sizes (the confusion the window shares are corrected for);
- accuracy against face size, and from it the smallest face the model reads well (the
  readability gate's size floor, which therefore loosens as the model gets better on small faces);
- accuracy against the sharpness of the face (blurred, at several sizes), and from it the least
  sharp face the model reads well (the gate's sharpness floor; 0 when it reads them all well).

Both are written into the model's metadata JSON, so they travel with the model and are
re-measured whenever it changes (`lsi-edge eval --confusion`, also run by `lsi-edge train`).
PublicTest only: PrivateTest stays for the model report, and the scripted scenes use it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.datasets import load_fer2013
from edge.evaluation.degrade import compress, downscale, gaussian_blur
from edge.inference.classifier import DEFAULT_MODEL, ExpressionClassifier, edit_metadata
from edge.lsi.quantify import CONFUSION_CROP_PX, measure_confusion
from edge.readability.sharpness import sharpness, sharpness_floor

SIZE_CURVE_PX = (48, 40, 32, 28, 24, 20, 16)
CLASSROOM_JPEG_QUALITY = 50  # the degradation protocol's compression (edge/evaluation/degrade.py)
# A face is read well when the model's top-1 accuracy on faces of that size stays at least this
# high: twice the share of the most frequent class (happy, 0.25), far from guessing.
READS_WELL_ACCURACY = 0.50
# Faces for the sharpness curve: blurred at 48 px (defocus, motion), then seen at these sizes.
SHARPNESS_BLUR_SIGMAS = (0.0, 1.0, 2.0, 3.0)
SHARPNESS_CROP_PX = (48, 32, 24)


def classroom_face(face: np.ndarray, crop_px: int) -> np.ndarray:
    """A 48 px face as a classroom camera delivers it at crop_px: downscaled and compressed."""
    if crop_px >= face.shape[0]:
        return face
    return compress(downscale(face, crop_px), CLASSROOM_JPEG_QUALITY)


def _predict(classifier: ExpressionClassifier, faces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([classifier.predict(faces[i:i + 256]) for i in range(0, len(faces), 256)])


def _sharpness_curve(classifier: ExpressionClassifier, images: np.ndarray, labels: np.ndarray) -> tuple[float, list]:
    values, correct = [], []
    for sigma in SHARPNESS_BLUR_SIGMAS:
        for crop_px in SHARPNESS_CROP_PX:
            faces = [classroom_face(gaussian_blur(face, sigma), crop_px) for face in images]
            values += [sharpness(face) for face in faces]
            correct += list(_predict(classifier, faces).argmax(axis=1) == labels)
    return sharpness_floor(np.array(values), np.array(correct), READS_WELL_ACCURACY)


def measure(classifier: ExpressionClassifier, shared: Path) -> dict:
    val = load_fer2013(shared, with_ferplus=False)["val"]
    classes = len(classifier.labels)
    matrices, curve = [], {}
    for crop_px in sorted(set(CONFUSION_CROP_PX) | set(SIZE_CURVE_PX), reverse=True):
        probabilities = _predict(classifier, [classroom_face(f, crop_px) for f in val.images])
        curve[crop_px] = round(float(np.mean(probabilities.argmax(axis=1) == val.labels)), 4)
        if crop_px in CONFUSION_CROP_PX:
            matrices.append((crop_px, measure_confusion(probabilities, val.labels, classes)))
    well = [px for px, accuracy in curve.items() if accuracy >= READS_WELL_ACCURACY]
    min_sharpness, sharpness_curve = _sharpness_curve(classifier, val.images, val.labels)
    prior = np.bincount(val.labels, minlength=classes) / len(val.labels)
    return {
        "confusion": {"fitted_on": "FER2013 PublicTest",
                      "faces": f"downscaled (area) to crop_px and JPEG {CLASSROOM_JPEG_QUALITY} below 48 px",
                      "crop_px": [px for px, _ in matrices],
                      "matrices": [np.round(m, 5).tolist() for _, m in matrices],
                      "prior": np.round(prior, 5).tolist()},
        "readability": {"accuracy_by_crop_px": curve, "reads_well_accuracy": READS_WELL_ACCURACY,
                        "min_crop_px": min(well) if well else 48,
                        "accuracy_by_sharpness": [[round(low, 1), round(high, 1), round(accuracy, 4)]
                                                  for low, high, accuracy in sharpness_curve],
                        "min_sharpness": round(min_sharpness, 1)},
    }


def record(model_path: Path | None, shared: Path) -> dict:
    """Measure and write into the model's metadata JSON; returns what was written."""
    model_path = Path(model_path or DEFAULT_MODEL)
    measured = measure(ExpressionClassifier.load(model_path), shared)
    edit_metadata(model_path, lambda metadata: metadata.update(measured))
    return measured
