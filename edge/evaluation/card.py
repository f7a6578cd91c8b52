"""docs/model-card.md: the shipped model's report with its recipe, sweep and ablation."""

from __future__ import annotations

import json
from pathlib import Path

from edge.evaluation.degrade import MONITOR
from edge.evaluation.report import held_out_gains, markdown

TARGET_ACCURACY = 0.70  # issue #2's floor for PrivateTest top-1
# Issue #14: the shipped model on the faces a classroom camera sees (PrivateTest).
TARGET_MACRO_F1 = 0.69
TARGET_ECE = 0.03
DEGRADED_TARGETS = {"32 px, JPEG 50": 0.64, "24 px, JPEG 50": 0.56}  # top-1 at these conditions
MIN_RECALL = 0.30  # every class, at the monitored condition (32 px, JPEG 50)
HELD_OUT_TOLERANCE = 0.05  # a held-out condition gains at least the trained one's gain minus this


def _row(name: str, value: float, target: str, ok: bool) -> str:
    return f"| {name} | {value} | {target} | {'met' if ok else '**not met**'} |"


def _sweep_table(sweep: list[dict]) -> list[str]:
    lines = ["| configuration | α | input | ImageNet init | FER+ weight | epochs | PublicTest acc (INT8) | "
             "macro-F1 | ms/face (b16, 1 thread) | size |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sweep:
        lines.append(f"| {r['label']} | {r['alpha']:g} | {r['input_size']} | {'yes' if r['pretrained'] else 'no'} | "
                     f"{r['ferplus_weight']:g} | {r['epochs']} | {r['val_accuracy_int8']:.4f} | "
                     f"{r['val_macro_f1_int8']:.4f} | {r['ms_per_face_b16_t1']:.3f} | {r['model_bytes'] / 1e6:.2f} MB |")
    return lines


def _refine_text(recipe: dict, final_size: int) -> str:
    epochs = recipe.get("refine_epochs", 0)
    if not epochs:
        return "no refine stage; the checkpoint with the best PublicTest accuracy ships."
    resized = (f" at {final_size}×{final_size} input (progressive resizing: the fully convolutional network keeps its "
               f"weights, the first stages ran at the cheaper size)") if final_size != recipe["input_size"] else ""
    return (f"a refine stage: a second cosine cycle of {epochs} epochs from the best weights (peak lr "
            f"{recipe.get('refine_lr', 0)}, half-epoch warm-up){resized}; the checkpoint with the best "
            f"PublicTest accuracy at the final input size ships.")


def _previous(result: dict, name: str | None = None) -> str:
    """' (previous: x)' from the model measured in the same run, if any."""
    compare = result.get("compare")
    if not compare:
        return ""
    if name is None:
        return f" (previous: {compare['accuracy']:.4f})"
    rows = {row["name"]: row for row in compare.get("degradations", [])}
    return f" (previous: {rows[name]['accuracy']:.4f})" if name in rows else ""


def _classroom_rows(result: dict) -> list[str]:
    if not result.get("degradations"):
        return []
    rows = {row["name"]: row for row in result["degradations"]}
    lines = [_row(f"top-1 at {name}", f"{rows[name]['accuracy']:.4f}{_previous(result, name)}", f"≥ {target:.2f}",
                  rows[name]["accuracy"] >= target) for name, target in DEGRADED_TARGETS.items()]
    recall = rows[MONITOR.name]["recall"]
    weakest = min(recall, key=recall.get)
    lines.append(_row(f"lowest class recall at {MONITOR.name}", f"{recall[weakest]:.2f} ({weakest})",
                      f"≥ {MIN_RECALL:.2f}", recall[weakest] >= MIN_RECALL))
    for gain in held_out_gains(result):
        lines.append(_row(f"gain at {gain['held_out']}", f"{gain['held_out_gain'] * 100:+.1f} points (trained "
                          f"{gain['trained']}: {gain['trained_gain'] * 100:+.1f})",
                          f"within {HELD_OUT_TOLERANCE * 100:.0f} points of the trained gain",
                          gain["held_out_gain"] >= gain["trained_gain"] - HELD_OUT_TOLERANCE))
    return lines


def _gap_paragraph(accuracy: float) -> list[str]:
    if accuracy >= TARGET_ACCURACY:
        return []
    return [f"**Gap to the {TARGET_ACCURACY:.2f} target: {(TARGET_ACCURACY - accuracy) * 100:.1f} points.** The training budget is one CPU "
            "session on 2 cores (see the training curve). What is expected to close it, each needing more "
            "compute rather than new code: more epochs at the larger input, mixup/cutmix, and distilling a "
            "larger teacher into this student. `tests/test_model_accuracy.py` fails until a model reaches the target.",
            ""]


def write_card(result: dict, metadata: dict, out: Path, sweep_file: Path, training_log: Path | None) -> None:
    latency = {(r["threads"], r["batch"]): r["ms_per_face"] for r in result["latency"]}
    ref = result.get("reference", {})
    recipe = metadata["recipe"]
    final_size = metadata["input"]["size"]
    by_f1 = sorted(result["per_class"].items(), key=lambda item: item[1]["f1"])
    weakest = " and ".join(f"{name} (F1 {row['f1']:.2f})" for name, row in by_f1[:2])
    int8_gap = abs(result["accuracy"] - ref["accuracy"]) * 100 if ref else None
    lines = [
        "# Model card: LSI Edge expression classifier", "",
        f"`models/expression_int8.tflite` — {metadata['architecture']}, full-integer INT8 TFLite, "
        f"{result['model_bytes'] / 1e6:.2f} MB, 7 FER2013 classes "
        f"({', '.join(metadata['labels'])}, in output order). Trained by `lsi-edge train` from our own "
        "code on FER2013 Training (with FER+ votes as soft targets), selected and calibrated on "
        "PublicTest, reported on PrivateTest only.", "",
        "Every figure on this page is printed by a command under *Reproduce*; this page is written by "
        "`lsi-edge eval --card docs/model-card.md`.", "",
        "## Headline (PrivateTest, n = 3,589, through `ExpressionClassifier.predict`)", "",
        "| figure | value | target | |", "|---|---|---|---|",
        _row("top-1 accuracy", f"{result['accuracy']:.4f}{_previous(result)}", f"≥ {TARGET_ACCURACY:.2f} (aim 0.73)",
             result["accuracy"] >= TARGET_ACCURACY),
        _row("macro-F1", f"{result['macro_f1']:.4f}", f"≥ {TARGET_MACRO_F1:.2f}", result["macro_f1"] >= TARGET_MACRO_F1),
        *_classroom_rows(result),
    ]
    if ref:
        lines.append(_row("INT8 vs FP32 parent", f"{result['accuracy']:.4f} vs {ref['accuracy']:.4f} "
                          f"(agreement {ref['agreement_with_int8']:.4f})", "within 1.0 point", int8_gap <= 1.0))
    lines += [
        _row("ECE (15 bins) after temperature scaling", f"{result['ece_calibrated']:.4f} "
             f"(before: {result['ece_uncalibrated']:.4f}, T = {result['temperature']:.3f})", f"≤ {TARGET_ECE:.2f}",
             result["ece_calibrated"] <= TARGET_ECE),
        _row("per-face latency, batch 16, 1 thread", f"{latency.get((1, 16), float('nan')):.3f} ms", "≤ 1.0 ms",
             latency.get((1, 16), 9.9) <= 1.0),
        _row("model file", f"{result['model_bytes'] / 1e6:.2f} MB", "≤ 4 MB", result["model_bytes"] <= 4e6),
        "",
        "Context: the reference design reported 0.39 accuracy / 0.34 macro-F1; published MobileNetV2 "
        "results on FER2013 reach about 0.68, the best single networks 0.73–0.74.", "",
        *_gap_paragraph(result["accuracy"]),
        "## Intended use and limits", "",
        "- Input: a face crop from a classroom camera (the pipeline aligns the eyes, crops with a margin "
        "and standardises illumination). Output: calibrated probabilities that the appliance smooths per "
        "track and aggregates over at least `privacy.min_faces` faces.",
        "- **Not** for judging an individual: FER2013 labels are noisy (FER+ annotators agree with them "
        "only ~63 % of the time), expressions are not emotions, and accuracy varies by class (see the "
        f"per-class table: {weakest} are the weakest). Only class-level aggregates are meaningful.",
        "- FER2013 faces are web images, mostly frontal, adults; children, strong head pose, masks and "
        "low light are under-represented. Demographic balance of FER2013 is unknown.", "",
        "## Data", "",
        "| file | sha256 |", "|---|---|",
        *[f"| `{name}` | `{digest}` |" for name, digest in metadata["training_data"].items()],
        "", "Training: FER2013 Training (28,709). Selection and temperature: PublicTest (3,589). "
        "Report: PrivateTest (3,589). FER+ votes are used only for exact rows (see the data README).", "",
        "## Training recipe", "",
        f"Head first ({recipe['head_epochs']} epoch, lr {recipe['head_lr']}), then the backbone "
        f"from `{recipe['fine_tune_from']}` up ({recipe['finetune_epochs']} epochs, AdamW, peak lr "
        f"{recipe['finetune_lr']}, {recipe['warmup_epochs']:g}-epoch warm-up, cosine decay, weight decay "
        f"{recipe['weight_decay']}) at {recipe['input_size']}×{recipe['input_size']}, then {_refine_text(recipe, final_size)} "
        f"Batch {recipe['batch_size']}, "
        f"seed {recipe['seed']}. ImageNet "
        "MobileNetV2 α=1.0 initialisation from `../shared/weights` (first convolution summed over RGB: "
        "identical output for grey input). Targets: (1 − w)·one-hot(FER2013) + w·FER+ vote shares with "
        f"w = {recipe['ferplus_weight']}, label smoothing {recipe['label_smoothing']}; class weights ∝ "
        f"(1/frequency)^{recipe['class_weight_power']}; dropout {recipe['dropout']}. Augmentation (per "
        "batch, in TensorFlow): mirror, rotation ±12°, shift ±8 %, zoom ±10 %, gamma, brightness, "
        "contrast, blur, Gaussian noise, occlusion rectangles (hands, masks). INT8: full-integer "
        "post-training quantisation with 400 representative training images; uint8 pixels in, int8 "
        "logits out; normalisation inside the graph. " + (
            "Inference averages each face with its mirror image (one interpreter call of 2N); the "
            "temperature is fitted on those logits." if metadata["inference"].get("flip_average") else
            "Inference takes one view per face (`lsi-edge train --flip-average` ships mirror-image "
            "averaging instead: more accuracy for twice the per-face latency)."), "",
        "```json", json.dumps(recipe, indent=2), "```", "",
    ]
    if training_log is not None and training_log.is_file():
        epochs = [json.loads(line) for line in training_log.read_text().splitlines() if line.strip()]
        minutes = sum(e["seconds"] for e in epochs) / 60.0
        lines += ["### Training curve (PublicTest, FP32, per epoch)", "",
                  f"{len(epochs)} epochs, {minutes:.0f} minutes on this 2-core CPU machine.", "",
                  "| stage | input | epoch | seconds | loss | val acc | val macro-F1 |",
                  "|---|---|---|---|---|---|---|",
                  *[f"| {e['stage']} | {e.get('input_size', recipe['input_size'])} | {e['epoch']} | "
                    f"{e['seconds']:.0f} | {e['loss']:.4f} | "
                    f"{e['val_accuracy']:.4f} | {e['val_macro_f1']:.4f} |" for e in epochs], ""]
    lines += ["## Width × input-size sweep and FER+ ablation", ""]
    if sweep_file.is_file():
        sweep = json.loads(sweep_file.read_text())
        lines += ["Short equal-budget runs (`lsi-edge sweep`: 1 head epoch + 2 fine-tuning epochs each): they "
                  "rank configurations, they are not the shipped model. Accuracy is INT8 on PublicTest; latency "
                  "on this machine. ImageNet weights exist here only for α = 1.0, so narrower networks start "
                  "from random weights and a short budget is far from their converged accuracy.", "",
                  *_sweep_table(sweep), ""]
        best = max(sweep, key=lambda r: r["val_accuracy_int8"])
        lines += [f"Best at this budget: {best['label']} ({best['val_accuracy_int8']:.4f} at "
                  f"{best['ms_per_face_b16_t1']:.2f} ms/face). Larger inputs learn faster per epoch but cost "
                  "latency and training time per epoch on 2 CPU cores. The shipped recipe runs most epochs at "
                  f"{recipe['input_size']} px and its last stage at {final_size} px (progressive resizing), "
                  "which buys most of the larger input's accuracy at a fraction of its training time; the "
                  "final size sets the per-face latency.", ""]
        by_label = {r["label"]: r for r in sweep}
        base = f"a{recipe['alpha']:g}_s{recipe['input_size']}"
        ablation = by_label.get(f"{base}_no_ferplus")
        if ablation and base in by_label:
            delta = (by_label[base]["val_accuracy_int8"] - ablation["val_accuracy_int8"]) * 100
            lines += [f"**FER+ soft targets** (w = {by_label[base]['ferplus_weight']:g} vs 0, same budget): "
                      f"{delta:+.1f} points of PublicTest accuracy "
                      f"({by_label[base]['val_accuracy_int8']:.4f} vs {ablation['val_accuracy_int8']:.4f}), "
                      f"macro-F1 {by_label[base]['val_macro_f1_int8']:.4f} vs {ablation['val_macro_f1_int8']:.4f}.",
                      ""]
    else:
        lines += ["Not run yet: `lsi-edge sweep` writes `docs/model-card/sweep.json`.", ""]
    lines += ["## Full evaluation", "", markdown(result).replace("## Evaluation", "### Evaluation"), "",
              "![confusion matrix](model-card/confusion.png)", "",
              "![reliability diagram](model-card/reliability.png)", "",
              "## Reproduce", "", "```bash",
              "scripts/setup.sh train,dev",
              ".venv/bin/lsi-edge train            # train → export INT8 → calibrate → evaluate (resumable)",
              ".venv/bin/lsi-edge eval --reference runs/expression/expression_fp32.tflite "
              "--out docs/model-card --card docs/model-card.md",
              ".venv/bin/lsi-edge bench --classifier",
              ".venv/bin/lsi-edge sweep", "```", ""]
    out.write_text("\n".join(lines))
