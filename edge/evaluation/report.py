"""`lsi-edge eval`: the model report on FER2013 PrivateTest (Markdown, JSON, two PNG figures)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from edge import metrics
from edge.calibration import softmax
from edge.datasets import load_fer2013
from edge.evaluation.latency import classifier_latency
from edge.inference.classifier import ExpressionClassifier

log = logging.getLogger("lsi_edge.eval")
ECE_BINS = 15


def batched_logits(classifier: ExpressionClassifier, images: np.ndarray, batch: int = 256) -> np.ndarray:
    return np.concatenate([classifier.logits(images[i:i + batch]) for i in range(0, len(images), batch)])


def ferplus_majority(ferplus: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """FER+ majority label in FER2013 order, −1 where unusable (non-exact row, no FER-class vote)."""
    majority = np.full(len(ferplus), -1, np.int64)
    usable = exact & ~np.isnan(ferplus).any(axis=1)
    majority[usable] = ferplus[usable].argmax(axis=1)
    return majority


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, names: tuple[str, ...]) -> dict:
    predicted = probabilities.argmax(axis=1)
    matrix = metrics.confusion_matrix(labels, predicted, len(names))
    precision, recall, f1 = metrics.per_class_prf(matrix)
    auroc = metrics.one_vs_rest_auroc(labels, probabilities)
    row_sums = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    return {
        "n": int(len(labels)),
        "accuracy": metrics.accuracy(labels, predicted),
        "macro_f1": float(f1.mean()),
        "per_class": {name: {"precision": float(precision[k]), "recall": float(recall[k]),
                             "f1": float(f1[k]), "auroc": float(auroc[k]), "support": int(matrix[k].sum())}
                      for k, name in enumerate(names)},
        "confusion_counts": matrix.tolist(),
        "confusion_row_normalised": (matrix / row_sums).round(4).tolist(),
    }


def evaluate(shared: Path, model_path: Path | None = None, reference: Path | None = None,
             latency_seconds: float = 2.0) -> dict:
    """All figures of the report, as a dict (see write_report for the files)."""
    splits = load_fer2013(shared)
    test = splits["test"]
    classifier = ExpressionClassifier.load(model_path, threads=2)
    names = classifier.labels
    logits = batched_logits(classifier, test.images)
    calibrated = softmax(logits, classifier.temperature)
    raw = softmax(logits)
    result = {
        "model": classifier.model_path.name,
        "model_bytes": classifier.model_path.stat().st_size,
        "labels": list(names),
        "split": "FER2013 PrivateTest",
        "runtime": classifier.runtime_info.runtime,
        "xnnpack": classifier.runtime_info.xnnpack,
        "temperature": classifier.temperature,
        **classification_metrics(test.labels, calibrated, names),
        "ece_uncalibrated": metrics.expected_calibration_error(test.labels, raw, ECE_BINS),
        "ece_calibrated": metrics.expected_calibration_error(test.labels, calibrated, ECE_BINS),
    }
    majority = ferplus_majority(test.ferplus, test.exact)
    usable = majority >= 0
    result["ferplus_majority"] = {
        "n": int(usable.sum()),
        "accuracy": metrics.accuracy(majority[usable], calibrated[usable].argmax(axis=1)),
        "macro_f1": metrics.macro_f1(majority[usable], calibrated[usable].argmax(axis=1), len(names)),
    }
    if reference is not None:
        reference_classifier = ExpressionClassifier(reference, classifier.metadata, threads=2)
        reference_predicted = batched_logits(reference_classifier, test.images).argmax(axis=1)
        result["reference"] = {
            "model": reference.name,
            "accuracy": metrics.accuracy(test.labels, reference_predicted),
            "macro_f1": metrics.macro_f1(test.labels, reference_predicted, len(names)),
            "agreement_with_int8": float(np.mean(reference_predicted == logits.argmax(axis=1))),
        }
    result["latency"] = classifier_latency(classifier.model_path, seconds=latency_seconds)
    result["_reliability"] = {
        "uncalibrated": [a.tolist() for a in metrics.reliability_bins(test.labels, raw, ECE_BINS)],
        "calibrated": [a.tolist() for a in metrics.reliability_bins(test.labels, calibrated, ECE_BINS)],
    }
    return result


def _plot_confusion(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = result["labels"]
    normalised = np.array(result["confusion_row_normalised"])
    counts = np.array(result["confusion_counts"])
    figure, axis = plt.subplots(figsize=(7, 6))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            axis.text(j, i, f"{normalised[i, j]:.2f}\n({counts[i, j]})", ha="center", va="center",
                      fontsize=7, color="white" if normalised[i, j] > 0.5 else "black")
    axis.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true (FER2013 label)")
    axis.set_title(f"PrivateTest confusion (row-normalised), accuracy {result['accuracy']:.3f}")
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_reliability(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 5))
    centres = (np.arange(ECE_BINS) + 0.5) / ECE_BINS
    for key, colour, label in (("uncalibrated", "tab:red", f"raw (ECE {result['ece_uncalibrated']:.3f})"),
                               ("calibrated", "tab:blue",
                                f"T={result['temperature']:.2f} (ECE {result['ece_calibrated']:.3f})")):
        counts, confidence, acc = (np.array(a) for a in result["_reliability"][key])
        keep = counts > 0
        axis.plot(confidence[keep], acc[keep], "o-", color=colour, label=label)
    axis.bar(centres, np.array(result["_reliability"]["calibrated"][0]) / result["n"], width=1 / ECE_BINS,
             alpha=0.2, color="grey", label="share of samples (calibrated)")
    axis.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    axis.set_xlabel("confidence")
    axis.set_ylabel("accuracy")
    axis.set_title("Reliability on PrivateTest (15 bins)")
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def markdown(result: dict) -> str:
    lines = [
        f"## Evaluation on {result['split']} (n = {result['n']})", "",
        f"Model `{result['model']}` ({result['model_bytes'] / 1e6:.2f} MB), runtime {result['runtime']}, "
        f"XNNPACK {'yes' if result['xnnpack'] else 'NO'}.", "",
        "| metric | value |", "|---|---|",
        f"| top-1 accuracy | {result['accuracy']:.4f} |",
        f"| macro-F1 | {result['macro_f1']:.4f} |",
        f"| ECE (15 bins), uncalibrated | {result['ece_uncalibrated']:.4f} |",
        f"| ECE (15 bins), temperature {result['temperature']:.3f} | {result['ece_calibrated']:.4f} |",
        f"| accuracy vs FER+ majority label (n = {result['ferplus_majority']['n']}) | "
        f"{result['ferplus_majority']['accuracy']:.4f} |",
    ]
    if "reference" in result:
        ref = result["reference"]
        lines += [f"| FP32 parent accuracy | {ref['accuracy']:.4f} |",
                  f"| INT8 − FP32 accuracy | {result['accuracy'] - ref['accuracy']:+.4f} |",
                  f"| INT8 / FP32 top-1 agreement | {ref['agreement_with_int8']:.4f} |"]
    lines += ["", "### Per class", "", "| class | precision | recall | F1 | AUROC | support |",
              "|---|---|---|---|---|---|"]
    for name, row in result["per_class"].items():
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | "
                     f"{row['auroc']:.3f} | {row['support']} |")
    names = result["labels"]
    lines += ["", "### Confusion matrix (counts; rows true, columns predicted)", "",
              "| true \\ predicted | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in zip(names, result["confusion_counts"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    lines += ["", "Row-normalised: see `confusion.png`.", "",
              "### Per-face latency (this machine)", "",
              "| threads | batch | ms per call (median) | ms per call (p90) | ms per face |", "|---|---|---|---|---|"]
    for row in result["latency"]:
        lines.append(f"| {row['threads']} | {row['batch']} | {row['ms_per_call_median']:.3f} | "
                     f"{row['ms_per_call_p90']:.3f} | {row['ms_per_face']:.3f} |")
    return "\n".join(lines) + "\n"


def write_report(result: dict, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"json": out_dir / "report.json", "markdown": out_dir / "report.md",
             "confusion": out_dir / "confusion.png", "reliability": out_dir / "reliability.png"}
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    files["json"].write_text(json.dumps(public, indent=2) + "\n")
    files["markdown"].write_text(markdown(result))
    _plot_confusion(result, files["confusion"])
    _plot_reliability(result, files["reliability"])
    return files
