"""Fit a model's calibration on FER2013 PublicTest and write it into the model's metadata.

Run by `lsi-edge train` for every model it ships, and by `lsi-edge eval --calibrate` for a model
that already exists (then re-measure its confusion: it is measured on calibrated probabilities).
"""

from __future__ import annotations

import logging
from pathlib import Path

from edge import metrics
from edge.calibration import fit_calibration, fit_temperature, softmax
from edge.datasets import Split, load_fer2013
from edge.evaluation.report import ECE_BINS, batched_logits
from edge.inference.classifier import DEFAULT_MODEL, ExpressionClassifier, edit_metadata

log = logging.getLogger("lsi_edge.eval")


def measure_calibration(classifier: ExpressionClassifier, val: Split) -> dict:
    """The metadata's "calibration" block: parameters and PublicTest ECE before and after."""
    logits = batched_logits(classifier, val.images)
    temperature_alone = fit_temperature(logits, val.labels)
    fitted = fit_calibration(logits, val.labels, temperature_alone)
    block = {**fitted.metadata_block(temperature_alone), "fitted_on": "FER2013 PublicTest",
             "ece_bins": ECE_BINS,
             "val_ece_before": metrics.expected_calibration_error(val.labels, softmax(logits), ECE_BINS),
             "val_ece_after": metrics.expected_calibration_error(val.labels, fitted.probabilities(logits), ECE_BINS),
             "val_accuracy": metrics.accuracy(val.labels, logits.argmax(axis=1))}
    log.info("calibration %s: PublicTest ECE %.4f -> %.4f", fitted.describe(), block["val_ece_before"],
             block["val_ece_after"])
    return block


def record_calibration(model_path: Path | None, shared: Path) -> dict:
    """Fit on PublicTest and write into the model's metadata JSON; returns the block written."""
    classifier = ExpressionClassifier.load(model_path or DEFAULT_MODEL, threads=2)
    block = measure_calibration(classifier, load_fer2013(shared, with_ferplus=False)["val"])

    def replace_calibration(metadata: dict) -> None:
        metadata["calibration"] = block
        # The PrivateTest ECE recorded when the model shipped no longer holds; the model report measures it.
        metadata.get("metrics", {}).pop("ece_calibrated", None)

    edit_metadata(classifier.model_path, replace_calibration)
    return block
