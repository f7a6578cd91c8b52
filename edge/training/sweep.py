"""Width × input-size sweep (accuracy vs per-face latency) and the FER+ soft-target ablation.

Short, equal-budget runs: the figures rank configurations; they are not the shipped model's.
Accuracy is measured on PublicTest (the selection split), latency on the INT8 export.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import replace
from pathlib import Path

from edge import metrics
from edge.datasets import load_fer2013
from edge.evaluation.latency import classifier_latency
from edge.evaluation.report import batched_logits
from edge.inference.classifier import ExpressionClassifier
from edge.training.recipe import Recipe
from edge.training.ship import ship
from edge.training.train import train

log = logging.getLogger("lsi_edge.sweep")


def _measure(recipe: Recipe, shared: Path, label: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        model, recipe = train(recipe, shared, run_dir / "run")
        output, _ = ship(model, recipe, shared, run_dir, run_dir / "model_int8.tflite")
        classifier = ExpressionClassifier.load(output, threads=1)
        val = load_fer2013(shared, with_ferplus=False)["val"]
        predicted = batched_logits(classifier, val.images).argmax(axis=1)
        latency = classifier_latency(output, batches=(16,), threads=(1,), seconds=1.5)[0]
        result = {"label": label, "alpha": recipe.alpha, "input_size": recipe.input_size,
                  "pretrained": recipe.pretrained and recipe.alpha == 1.0,
                  "ferplus_weight": recipe.ferplus_weight, "epochs": recipe.head_epochs + recipe.finetune_epochs,
                  "val_accuracy_int8": round(metrics.accuracy(val.labels, predicted), 4),
                  "val_macro_f1_int8": round(metrics.macro_f1(val.labels, predicted, 7), 4),
                  "ms_per_face_b16_t1": latency["ms_per_face"], "model_bytes": output.stat().st_size}
    log.info("sweep %s: %s", label, result)
    return result


def sweep(shared: Path, alphas: list[float], sizes: list[int], epochs: int, ablation: bool, out: Path) -> list[dict]:
    # Short runs: faster-moving batch-norm statistics, or narrow from-scratch networks collapse in
    # inference mode after a few hundred steps (their moving averages are still near initial values).
    base = Recipe(head_epochs=1, finetune_epochs=epochs, refine_epochs=0, bn_momentum=0.99)
    results = json.loads(out.read_text()) if out.exists() else []
    done = {r["label"] for r in results}
    plans = [(f"a{a:g}_s{s}", replace(base, alpha=a, input_size=s, pretrained=a == 1.0)) for a in alphas for s in sizes]
    if ablation:
        plans.append((f"a{base.alpha:g}_s{base.input_size}_no_ferplus", replace(base, ferplus_weight=0.0)))
    for label, recipe in plans:
        if label in done:
            continue  # resumable: finished configurations are kept
        results.append(_measure(recipe, shared, label))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    return results
