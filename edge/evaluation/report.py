"""`lsi-edge eval`: the model report on FER2013 PrivateTest (Markdown, JSON, two PNG figures)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from edge import metrics
from edge.calibration import Calibration, softmax
from edge.datasets import load_fer2013, sha256_of
from edge.evaluation.degrade import HELD_OUT_PAIRS, MONITOR, PROTOCOL, degrade_all
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


def condition_metrics(labels: np.ndarray, logits: np.ndarray, calibration: Calibration,
                      names: tuple[str, ...]) -> dict:
    """Accuracy, macro-F1, per-class recall and ECE of one model under one condition."""
    probabilities = calibration.probabilities(logits)
    predicted = probabilities.argmax(axis=1)
    _, recall, f1 = metrics.per_class_prf(metrics.confusion_matrix(labels, predicted, len(names)))
    return {"accuracy": metrics.accuracy(labels, predicted), "macro_f1": float(f1.mean()),
            "recall": {name: float(recall[k]) for k, name in enumerate(names)},
            "ece": metrics.expected_calibration_error(labels, probabilities, ECE_BINS)}


def degraded_sets(images: np.ndarray) -> dict[str, list[np.ndarray]]:
    """PrivateTest under every condition of the protocol (deterministic)."""
    return {degradation.name: degrade_all(images, degradation) for degradation in PROTOCOL}


def protocol_figures(classifier: ExpressionClassifier, labels: np.ndarray, sets: dict[str, list[np.ndarray]]) -> list[dict]:
    rows = []
    for degradation in PROTOCOL:
        logits = batched_logits(classifier, sets[degradation.name])
        rows.append({"name": degradation.name, "held_out": degradation.held_out,
                     **condition_metrics(labels, logits, classifier.calibration, classifier.labels)})
    return rows


def _with_flip_average(classifier: ExpressionClassifier, flip: bool) -> ExpressionClassifier:
    return ExpressionClassifier(classifier.model_path, replace(classifier.metadata, flip_average=flip), threads=2)


def flip_average_other(classifier: ExpressionClassifier, labels: np.ndarray, sets: dict[str, list[np.ndarray]]) -> dict:
    """Test-time choice: top-1 with the other setting of mirror-image averaging, as is and at the
    monitored condition."""
    other = _with_flip_average(classifier, not classifier.metadata.flip_average)
    return {"flip_average": other.metadata.flip_average,
            **{name: condition_metrics(labels, batched_logits(other, sets[name]), other.calibration,
                                       classifier.labels)["accuracy"] for name in (PROTOCOL[0].name, MONITOR.name)}}


def evaluate(shared: Path, model_path: Path | None = None, reference: Path | None = None,
             latency_seconds: float = 2.0, compare: Path | None = None, degradations: bool = True) -> dict:
    """All figures of the report, as a dict (see write_report for the files).

    degradations: also every condition of the classroom protocol (edge.evaluation.degrade) and the
    test-time choice of mirror-image averaging. compare: a previous model measured the same way in
    the same run (same degraded pixels, same machine for the latency).
    """
    splits = load_fer2013(shared)
    test = splits["test"]
    classifier = ExpressionClassifier.load(model_path, threads=2)
    names = classifier.labels
    logits = batched_logits(classifier, test.images)
    calibrated = classifier.calibration.probabilities(logits)
    raw = softmax(logits)
    result = {
        "model": classifier.model_path.name,
        "model_bytes": classifier.model_path.stat().st_size,
        "labels": list(names),
        "split": "FER2013 PrivateTest",
        "runtime": classifier.runtime_info.runtime,
        "xnnpack": classifier.runtime_info.xnnpack,
        "calibration": classifier.calibration.as_metadata(),
        "created": classifier.metadata.raw.get("created"),
        **classification_metrics(test.labels, calibrated, names),
        "ece_uncalibrated": metrics.expected_calibration_error(test.labels, raw, ECE_BINS),
        "ece_calibrated": metrics.expected_calibration_error(test.labels, calibrated, ECE_BINS),
    }
    sets = degraded_sets(test.images) if degradations or compare is not None else {}
    if degradations:
        result["degradations"] = protocol_figures(classifier, test.labels, sets)
        result["flip_average_other"] = flip_average_other(classifier, test.labels, sets)
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
    if compare is not None:
        previous = ExpressionClassifier.load(compare, threads=2)
        previous_logits = batched_logits(previous, test.images)
        result["compare"] = {
            "model": str(compare), "sha256": sha256_of(compare), "model_bytes": compare.stat().st_size,
            "created": previous.metadata.raw.get("created"),
            **condition_metrics(test.labels, previous_logits, previous.calibration, names),
            "degradations": protocol_figures(previous, test.labels, sets) if degradations else [],
            **({"flip_average_other": flip_average_other(previous, test.labels, sets)} if degradations else {}),
            "latency": classifier_latency(compare, seconds=latency_seconds),
        }
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
                                f"calibrated (ECE {result['ece_calibrated']:.3f})")):
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
        f"| ECE (15 bins), calibrated ({Calibration(**result['calibration']).describe()}) | "
        f"{result['ece_calibrated']:.4f} |",
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
    lines += degradation_markdown(result)
    lines += ["", "Row-normalised: see `confusion.png`.", "",
              "### Per-face latency (this machine)", "",
              "| threads | batch | ms per call (median) | ms per call (p90) | ms per face | ms per face (fastest call) |",
              "|---|---|---|---|---|---|"]
    for row in result["latency"]:
        lines.append(f"| {row['threads']} | {row['batch']} | {row['ms_per_call_median']:.3f} | "
                     f"{row['ms_per_call_p90']:.3f} | {row['ms_per_face']:.3f} | "
                     f"{row.get('ms_per_face_fastest', float('nan')):.3f} |")
    if "compare" in result:
        lines += ["", f"`{Path(result['compare']['model']).stem}`, same run: " + ", ".join(
            f"{row['threads']} thread(s) batch {row['batch']}: {row['ms_per_face']:.3f} ms/face "
            f"(fastest call {row.get('ms_per_face_fastest', float('nan')):.3f})"
            for row in result["compare"]["latency"]) + "."]
    return "\n".join(lines) + "\n"


def held_out_gains(result: dict) -> list[dict]:
    """For each held-out condition: the newer model's accuracy gain over the older one next to its
    gain at the trained condition of the same face size (did it learn small faces, or the protocol?).
    Newer and older by the `created` time in their metadata."""
    if "compare" not in result or not result.get("degradations") or not result["compare"].get("degradations"):
        return []
    evaluated = {row["name"]: row["accuracy"] for row in result["degradations"]}
    compared = {row["name"]: row["accuracy"] for row in result["compare"]["degradations"]}
    evaluated_is_newer = (result.get("created") or "") >= (result["compare"].get("created") or "")
    new, old = (evaluated, compared) if evaluated_is_newer else (compared, evaluated)
    newer = result["model"] if evaluated_is_newer else Path(result["compare"]["model"]).name
    return [{"newer": newer, "held_out": held, "trained": trained, "held_out_gain": new[held] - old[held],
             "trained_gain": new[trained] - old[trained], "held_out_accuracy": new[held],
             "trained_accuracy": new[trained]} for held, trained in HELD_OUT_PAIRS.items()]


def degradation_markdown(result: dict) -> list[str]:
    if not result.get("degradations"):
        return []
    names = result["labels"]
    previous = {row["name"]: row for row in result.get("compare", {}).get("degradations", [])}
    other = f"`{Path(result['compare']['model']).stem}`" if previous else ""
    lines = ["", "### Classroom degradations (PrivateTest through `ExpressionClassifier.predict`)", "",
             "Each 48 px face is area-downscaled to N px and/or blurred, noised and compressed "
             "(`edge/evaluation/degrade.py`, fixed seed), then goes through the classifier's own resize "
             "to its input size. *Held out*: never applied in training, and as hard for the "
             "full-resolution model as the trained condition of the same size it is compared with "
             "(WebP at quality 13 matches JPEG 50 on PublicTest; WebP 50 is much milder)."
             + (f" Compared: {other} (`{result['compare']['model']}`), same faces, same run." if previous else ""), "",
             "| condition | top-1 | " + (f"{other} top-1 | " if previous else "") + "macro-F1 | "
             + (f"{other} macro-F1 | " if previous else "") + "ECE | recall " + " / ".join(names) + " |",
             "|---|---|" + ("---|" if previous else "") + "---|" + ("---|" if previous else "") + "---|---|"]
    for row in result["degradations"]:
        old = previous.get(row["name"])
        recall = " / ".join(f"{row['recall'][name]:.2f}" for name in names)
        lines.append(f"| {row['name']} | {row['accuracy']:.4f} | "
                     + (f"{old['accuracy']:.4f} | " if old else "") + f"{row['macro_f1']:.4f} | "
                     + (f"{old['macro_f1']:.4f} | " if old else "") + f"{row['ece']:.4f} | {recall} |")
    if previous:
        lines += ["", f"{other} per-class recall: " + "; ".join(
            f"{name}: " + " / ".join(f"{row['recall'][label]:.2f}" for label in names)
            for name, row in previous.items() if name in {PROTOCOL[0].name, MONITOR.name})]
    for gain in held_out_gains(result):
        lines += ["", f"Held out vs trained, `{gain['newer']}` (the newer model) over the other: "
                  f"**{gain['held_out']}** {gain['held_out_gain'] * 100:+.1f} points (to {gain['held_out_accuracy']:.4f}), "
                  f"**{gain['trained']}** {gain['trained_gain'] * 100:+.1f} points (to {gain['trained_accuracy']:.4f})."]
    for label, figures in ((f"`{Path(result['model']).stem}`", result),
                           (other, result.get("compare", {}))):
        flip = figures.get("flip_average_other")
        if flip:
            lines += ["", f"Test-time choice, {label}: with mirror-image averaging "
                      f"{'on' if flip['flip_average'] else 'off'} (the other setting; twice the per-face cost "
                      "when on): " + ", ".join(f"{name} {flip[name]:.4f}" for name in (PROTOCOL[0].name, MONITOR.name))
                      + "."]
    return lines


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
