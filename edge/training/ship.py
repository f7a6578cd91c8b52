"""After training: export INT8 + FP32, fit the calibration on PublicTest, write the metadata."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np

from edge.calibration import Calibration
from edge.datasets import FER2013_LABELS, fer2013_path, load_fer2013, sha256_of
from edge.evaluation.calibrate import measure_calibration
from edge.inference.classifier import ExpressionClassifier, ModelMetadata, edit_metadata
from edge.inference.preprocess import prepare_batch
from edge.training.export import export_tflite
from edge.training.recipe import Recipe

log = logging.getLogger("lsi_edge.train")
REPRESENTATIVE_IMAGES = 400


def training_run(run_dir: Path) -> dict:
    """Where and how long the run trained, from its log (epochs, minutes, Keras backend, early stop)."""
    log_file = run_dir / "log.jsonl"
    epochs = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()] if log_file.exists() else []
    plans = {stage: json.loads((run_dir / f"{stage}.plan.json").read_text())
             for stage in ("head", "finetune", "refine") if (run_dir / f"{stage}.plan.json").exists()}
    return {"epochs_run": len(epochs), "minutes": round(sum(e["seconds"] for e in epochs) / 60.0, 1),
            "backends": sorted({e.get("backend", "tensorflow") for e in epochs}),
            "stopped_early": {stage: plan["stopped_after"] for stage, plan in plans.items() if "stopped_after" in plan}}


def _metadata(recipe: Recipe, shared: Path, flip_average: bool, calibration: dict,
              run: dict | None = None) -> dict:
    return {
        "format": "tflite",
        "quantization": "full-integer INT8: uint8 input, int8 logits output",
        "labels": list(FER2013_LABELS),
        "input": {"size": recipe.final_input_size, "channels": 1, "colour": "grayscale", "dtype": "uint8",
                  "range": "raw pixel values 0-255",
                  "normalisation": "x / 127.5 - 1, inside the graph",
                  "resize": "whole crop to a square: INTER_AREA when shrinking, INTER_LINEAR when enlarging"},
        "output": "logits; probabilities = edge.calibration.Calibration (the calibration block) of the logits",
        "inference": {"flip_average": flip_average,
                      "note": ("logits of each face and its mirror image are averaged, in one interpreter call"
                               if flip_average else "one view per face")},
        "calibration": calibration,
        "architecture": f"MobileNetV2 alpha={recipe.alpha:g}, {recipe.final_input_size}x{recipe.final_input_size}x1",
        "training_data": {"fer2013.npz": sha256_of(fer2013_path(shared)),
                          "ferplus_votes.csv": sha256_of(shared / "data" / "ferplus_votes.csv")},
        "recipe": asdict(recipe),
        **({"training_run": run} if run else {}),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def ship(model, recipe: Recipe, shared: Path, run_dir: Path, output: Path,
         flip_average: bool = False) -> tuple[Path, Path]:
    """Write output (INT8 .tflite + .json) and run_dir/expression_fp32.tflite; returns both paths.

    flip_average: the classifier averages each face with its mirror image (a little more
    accuracy for twice the per-face latency); the calibration is fitted on whichever logits ship.
    """
    splits = load_fer2013(shared, with_ferplus=False)
    rng = np.random.default_rng(recipe.seed)
    pick = rng.permutation(len(splits["train"].labels))[:REPRESENTATIVE_IMAGES]
    representative = prepare_batch(splits["train"].images[pick], recipe.final_input_size)
    log.info("exporting INT8 (%d representative training images) to %s", len(pick), output)
    export_tflite(model, output, representative)
    fp32 = export_tflite(model, run_dir / "expression_fp32.tflite")

    metadata_path = output.with_suffix(".json")
    metadata_path.write_text(json.dumps(_metadata(recipe, shared, flip_average, Calibration().metadata_block(1.0)), indent=2))
    classifier = ExpressionClassifier(output, ModelMetadata.read(output), threads=2)
    calibration = measure_calibration(classifier, splits["val"])
    metadata_path.write_text(json.dumps(_metadata(recipe, shared, flip_average, calibration,
                                                  training_run(run_dir)), indent=2))
    return output, fp32


def record_headline(output: Path, result: dict) -> None:
    """Copy the PrivateTest headline figures into the model's metadata."""
    headline = {
        "split": result["split"], "accuracy": result["accuracy"], "macro_f1": result["macro_f1"],
        "ece_uncalibrated": result["ece_uncalibrated"], "ece_calibrated": result["ece_calibrated"],
        "ferplus_majority_accuracy": result["ferplus_majority"]["accuracy"],
        **({"fp32_accuracy": result["reference"]["accuracy"],
            "int8_fp32_agreement": result["reference"]["agreement_with_int8"]} if "reference" in result else {}),
    }
    edit_metadata(output, lambda metadata: metadata.update(metrics=headline, sha256=sha256_of(output)))
