"""Training of the expression model: head first, then the upper backbone (optionally a refine stage).

A run lives in one directory (checkpoints, log, recipe); running again with the same directory
resumes where it stopped. Selection uses PublicTest only; PrivateTest is never looked at here.
Plain Keras 3 with numpy/OpenCV augmentation, so the same code trains on TensorFlow (CPU) or on
JAX / PyTorch (GPU, `KERAS_BACKEND`); the weights it writes load under any of them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import keras
import numpy as np

from edge import metrics
from edge.datasets import FER2013_LABELS, Split, load_training_splits
from edge.evaluation.degrade import MONITOR, degrade_all
from edge.inference.preprocess import prepare_batch
from edge.training.batches import AugmentedBatches
from edge.training.model import build_model, load_model_weights, save_model_weights, set_trainable
from edge.training.recipe import Recipe
from edge.training.teachers import teacher_paths

log = logging.getLogger("lsi_edge.train")
STAGES = {"head": 0, "finetune": 1, "refine": 2}  # stage ids in the augmentation's random stream
# A time budget plans with epochs this much slower than the one measured after the warm-up: on the
# GPU run of the classroom candidate, later epochs averaged 1.3x the second one's time (at most 1.6x).
EPOCH_TIME_MARGIN = 1.35


def soft_targets(split: Split, ferplus_weight: float, num_classes: int = 7) -> np.ndarray:
    onehot = np.eye(num_classes, dtype=np.float32)[split.labels]
    if split.ferplus is None or ferplus_weight <= 0:
        return onehot
    usable = ~np.isnan(split.ferplus).any(axis=1)
    targets = onehot.copy()
    targets[usable] = (1 - ferplus_weight) * onehot[usable] + ferplus_weight * split.ferplus[usable]
    return targets


def class_weights(labels: np.ndarray, power: float, num_classes: int = 7) -> np.ndarray:
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = (counts.sum() / np.maximum(counts, 1)) ** power
    return (weights / np.average(weights, weights=counts)).astype(np.float32)


def _subset(split: Split, limit: int | None, seed: int) -> Split:
    if limit is None or limit >= len(split.labels):
        return split
    index = np.random.default_rng(seed).permutation(len(split.labels))[:limit]
    return Split(split.images[index], split.labels[index], split.exact[index],
                 None if split.ferplus is None else split.ferplus[index])


def selection_score(val_accuracy: float, monitor_accuracy: float) -> float:
    """What picks the checkpoint that ships: PublicTest accuracy as is and at the monitored
    classroom degradation, equally weighted (the model serves both near and far faces)."""
    return (val_accuracy + monitor_accuracy) / 2.0


def epoch_learning_rate(epoch: int, peak: float, warmup_epochs: int, total_epochs: int) -> float:
    """Linear warm-up to the peak over warmup_epochs, then cosine decay to 1 % of it at the last epoch."""
    if epoch < warmup_epochs:
        return peak * (epoch + 1) / (warmup_epochs + 1)
    span = max(1, total_epochs - warmup_epochs - 1)
    progress = min(1.0, (epoch - warmup_epochs) / span)
    return peak * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))


class _Validation:
    """PublicTest as is and under the monitored degradation, at one input size."""

    def __init__(self, split: Split, size: int):
        self.size = size
        self.labels = split.labels
        self.clean = prepare_batch(split.images, size).astype(np.float32)
        self.degraded = prepare_batch(degrade_all(split.images, MONITOR), size).astype(np.float32)

    def measure(self, model) -> dict:
        clean = model.predict(self.clean, batch_size=256, verbose=0).argmax(axis=1)
        degraded = model.predict(self.degraded, batch_size=256, verbose=0).argmax(axis=1)
        accuracy, monitor = metrics.accuracy(self.labels, clean), metrics.accuracy(self.labels, degraded)
        return {"val_accuracy": accuracy, "val_macro_f1": metrics.macro_f1(self.labels, clean, len(FER2013_LABELS)),
                "val_accuracy_monitor": monitor, "score": selection_score(accuracy, monitor)}


class _Progress(keras.callbacks.Callback):
    """Per epoch: learning rate, time, ETA, PublicTest figures; keeps the best weights; obeys the
    time budget (fixes the stage's epoch count after the warm-up, stops before the deadline)."""

    def __init__(self, stage: str, plan: dict, validation: _Validation, run_dir: Path, deadline: float | None):
        super().__init__()
        self.stage, self.plan = stage, plan
        self.validation = validation
        self.run_dir, self.log_file = run_dir, run_dir / "log.jsonl"
        self.deadline = deadline
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()
        if self.plan["peak_lr"] is not None:
            self.model.optimizer.learning_rate = epoch_learning_rate(
                epoch, self.plan["peak_lr"], self.plan["warmup"], self.plan["epochs"])

    def on_epoch_end(self, epoch, logs=None):
        figures = self.validation.measure(self.model)
        elapsed = time.monotonic() - self.started
        improved, _ = keep_if_best(self.model, self.run_dir, self.validation.size, figures,
                                   {"stage": self.stage, "epoch": epoch + 1})
        record = {"stage": self.stage, "input_size": self.validation.size, "epoch": epoch + 1,
                  "epochs": self.plan["epochs"], "seconds": round(elapsed, 1),
                  "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                  "loss": round(float(logs.get("loss", float("nan"))), 4),
                  **{key: round(value, 4) for key, value in figures.items()},
                  "monitor": MONITOR.name, "best": improved, "backend": keras.backend.backend()}
        _append_log(self.log_file, record)
        if self.stage == "refine":  # kept for the weight average
            save_model_weights(self.model, epoch_file(self.run_dir, epoch + 1))
        self._budget(epoch, elapsed)
        eta_min = elapsed * (self.plan["epochs"] - epoch - 1) / 60.0
        log.info("[%s] epoch %d/%d  %.0fs  loss %.4f  val acc %.4f  macro-F1 %.4f  %s %.4f%s  ETA %.1f min",
                 self.stage, epoch + 1, self.plan["epochs"], elapsed, record["loss"], figures["val_accuracy"],
                 figures["val_macro_f1"], MONITOR.name, figures["val_accuracy_monitor"],
                 "  (best)" if improved else "", eta_min)
        if epoch + 1 >= last_epoch(self.plan):
            self.model.stop_training = True

    def _budget(self, epoch: int, epoch_seconds: float) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.time()
        if not self.plan.get("fixed") and epoch + 1 >= max(1, self.plan["warmup"]):
            # The warm-up's epochs do not depend on the total, so the total can be chosen now.
            fits = epoch + 1 + int(left // (epoch_seconds * EPOCH_TIME_MARGIN))
            self.plan.update(epochs=max(epoch + 1, min(self.plan["epochs"], fits)), fixed=True)
            (self.run_dir / f"{self.stage}.plan.json").write_text(json.dumps(self.plan, indent=2))
            log.info("[%s] time budget: %d epochs in all (%.0f s per epoch, %.0f s left)",
                     self.stage, self.plan["epochs"], epoch_seconds, left)
        if left < epoch_seconds * EPOCH_TIME_MARGIN and epoch + 1 < self.plan["epochs"]:
            # The schedule keeps its length (recorded in the recipe); the stage ends early.
            log.warning("[%s] stopping after epoch %d of %d: the time budget is spent", self.stage, epoch + 1,
                        self.plan["epochs"])
            self.plan.update(fixed=True, stopped_after=epoch + 1)
            (self.run_dir / f"{self.stage}.plan.json").write_text(json.dumps(self.plan, indent=2))
            self.model.stop_training = True


def keep_if_best(model, run_dir: Path, input_size: int, figures: dict, origin: dict) -> tuple[bool, float]:
    """Make the model the run's best at this input size if it scores better on PublicTest;
    returns whether it did and the score it had to beat."""
    weights, record = best_files(run_dir, input_size)
    previous = json.loads(record.read_text()).get("score", -1.0) if record.exists() else -1.0
    kept = figures["score"] > previous
    if kept:
        save_model_weights(model, weights)
        record.write_text(json.dumps({**figures, **origin}, indent=2))
    return kept, previous


def _append_log(log_file: Path, record: dict) -> None:
    with open(log_file, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def epoch_file(run_dir: Path, epoch: int) -> Path:
    """The refine stage's weights after this epoch (0: the weights it started from)."""
    return run_dir / f"refine.epoch{epoch:03d}.weights.npz"


def average_weights(files: list[Path]) -> list[np.ndarray]:
    """Element-wise mean of checkpoints of one architecture; integer variables (e.g. a random
    generator's state) are taken from the last."""
    stored = [np.load(path) for path in files]
    keys = sorted(k for k in stored[0].files if k != "names")
    return [np.mean([s[k] for s in stored], axis=0).astype(stored[0][k].dtype)
            if np.issubdtype(stored[0][k].dtype, np.floating) else stored[-1][k] for k in keys]


def _average_refine(model, run_dir: Path, validation: _Validation) -> None:
    """Weight average of the refine stage (recipe.refine_average): measured on PublicTest, logged,
    and made the best checkpoint if it scores better than every single epoch."""
    done = run_dir / "average.json"
    if done.exists():
        return
    files = sorted(run_dir.glob("refine.epoch*.weights.npz"))
    if len(files) < 2:
        log.warning("[average] %d refine checkpoint(s) in %s: nothing to average", len(files), run_dir)
        return
    for variable, value in zip(model.weights, average_weights(files)):
        variable.assign(value)
    figures = validation.measure(model)
    improved, previous = keep_if_best(model, run_dir, validation.size, figures,
                                      {"stage": "average", "checkpoints": len(files)})
    record = {"stage": "average", "input_size": validation.size, "checkpoints": len(files), "seconds": 0.0,
              **{key: round(value, 4) for key, value in figures.items()}, "monitor": MONITOR.name,
              "best": improved, "backend": keras.backend.backend()}
    _append_log(run_dir / "log.jsonl", record)
    done.write_text(json.dumps(record, indent=2))
    log.info("[average] %d checkpoints: val acc %.4f  macro-F1 %.4f  %s %.4f  score %.4f (best single %.4f)%s",
             len(files), figures["val_accuracy"], figures["val_macro_f1"], MONITOR.name,
             figures["val_accuracy_monitor"], figures["score"], previous,
             "  -> ships" if improved else "")


def best_files(run_dir: Path, input_size: int) -> tuple[Path, Path]:
    """Best PublicTest weights and their record, kept per input size (a resized stage competes
    only with itself: its model is the one that ships)."""
    return run_dir / f"best_s{input_size}.weights.npz", run_dir / f"best_s{input_size}.json"


def last_epoch(plan: dict) -> int:
    """Where a stage ends: its schedule's last epoch, or earlier if a time budget stopped it."""
    return plan.get("stopped_after", plan["epochs"])


def _loss(recipe: Recipe):
    return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing)


def _stage_plan(run_dir: Path, stage: str, epochs: int, peak_lr: float | None, warmup: int) -> dict:
    stored = run_dir / f"{stage}.plan.json"
    if stored.exists():
        return json.loads(stored.read_text())  # a budgeted run's epoch count, fixed after its warm-up
    return {"epochs": epochs, "peak_lr": peak_lr, "warmup": warmup, "fixed": False}


def _run_stage(model, stage: str, plan: dict, recipe: Recipe, data: dict, validation: _Validation,
               run_dir: Path, deadline: float | None) -> None:
    done = done_file(run_dir, stage)
    if done.exists():
        load_model_weights(model, done)
        log.info("[%s] already complete, loaded %s", stage, done)
        return
    later = [other for other in list(STAGES)[list(STAGES).index(stage) + 1:] if done_file(run_dir, other).exists()]
    if later:
        log.info("[%s] skipped: the later stage %s is complete", stage, later[0])
        return
    if plan["epochs"] <= 0:
        return
    learning_rate = plan["peak_lr"] if plan["peak_lr"] is not None else recipe.head_lr
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=recipe.weight_decay),
                  loss=_loss(recipe))
    backup = run_dir / f"{stage}.backup"
    metadata = backup / "training_metadata.json"
    start_epoch = json.loads(metadata.read_text())["epoch"] if metadata.exists() else 0
    teachers = teacher_paths(recipe.refine_teachers) if stage == "refine" else ()
    batches = AugmentedBatches(data["faces"], data["targets"], data["weights"], validation.size, recipe.augment,
                               recipe.seed, recipe.batch_size, STAGES[stage], data["workers"], teachers,
                               recipe.refine_distill_weight)
    log.info("[%s] %d images, %d steps/epoch, input %d, %d augmentation workers%s", stage, batches.count,
             batches.steps, validation.size, batches.workers, f", resuming at epoch {start_epoch + 1}" if start_epoch else "")
    callbacks = [keras.callbacks.BackupAndRestore(str(backup)),
                 _Progress(stage, plan, validation, run_dir, deadline)]
    try:
        if start_epoch < last_epoch(plan):
            model.fit(batches.stream(start_epoch), epochs=last_epoch(plan), steps_per_epoch=batches.steps, shuffle=False,
                      callbacks=callbacks, verbose=0)
    finally:
        batches.close()
    save_model_weights(model, done)


def done_file(run_dir: Path, stage: str) -> Path:
    return run_dir / f"{stage}.done.weights.npz"


def _resolve_recipe(recipe: Recipe, run_dir: Path, budgeted: bool) -> Recipe:
    """The recipe of this run directory: a new run stores it, a resumed one must match it."""
    recipe_file = run_dir / "recipe.json"
    if not recipe_file.exists():
        recipe_file.write_text(json.dumps(asdict(recipe), indent=2))
        return recipe
    stored = Recipe.from_dict(json.loads(recipe_file.read_text()))
    if budgeted and stored.finetune_epochs <= recipe.finetune_epochs:
        recipe = replace(recipe, finetune_epochs=stored.finetune_epochs)  # a budget may have shortened it
    if stored != recipe and not recipe.extends(stored):
        raise ValueError(f"{run_dir} holds a run with another recipe; use a new --run-dir "
                         f"or the same options to resume it")
    if stored != recipe:
        if done_file(run_dir, "refine").exists() and replace(recipe, refine_average=stored.refine_average) != stored:
            raise ValueError(f"{run_dir}: the refine stage already ran with other settings; use a new --run-dir")
        recipe_file.write_text(json.dumps(asdict(recipe), indent=2))
        log.info("extending the run in %s with a refine stage of %d epochs", run_dir, recipe.refine_epochs)
    log.info("resuming the run in %s", run_dir)
    return recipe


def train(recipe: Recipe, shared: Path, run_dir: Path, workers: int | None = None,
          time_budget_minutes: float | None = None) -> tuple[keras.Model, Recipe]:
    """Train (or resume) into run_dir; returns the model with the best PublicTest weights and the
    recipe as run (with a time budget, the fine-tuning epochs that fitted).

    time_budget_minutes: wall-clock limit for this call. The fine-tuning stage fixes its epoch
    count after its warm-up from the measured epoch time (recorded in recipe.json, so the same
    run can be repeated without a budget), and every stage stops before the limit with its
    best weights saved.
    """
    started = time.time()
    deadline = None if time_budget_minutes is None else started + time_budget_minutes * 60.0
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe = _resolve_recipe(recipe, run_dir, deadline is not None)
    keras.utils.set_random_seed(recipe.seed)
    log.info("Keras %s, backend %s", keras.__version__, keras.backend.backend())

    splits = load_training_splits(shared, with_ferplus=recipe.ferplus_weight > 0)
    train_split = _subset(splits["train"], recipe.max_train_images, recipe.seed)
    val_split = _subset(splits["val"], recipe.max_val_images, recipe.seed)
    data = {"faces": train_split.images, "targets": soft_targets(train_split, recipe.ferplus_weight),
            "weights": class_weights(train_split.labels, recipe.class_weight_power)[train_split.labels],
            "workers": workers}

    validation = _Validation(val_split, recipe.input_size)
    model = build_model(recipe.input_size, recipe.alpha, recipe.dropout,
                        shared if recipe.pretrained else None, bn_momentum=recipe.bn_momentum)
    set_trainable(model, None)
    _run_stage(model, "head", _stage_plan(run_dir, "head", recipe.head_epochs, None, 0), recipe, data,
               validation, run_dir, deadline)
    set_trainable(model, recipe.fine_tune_from)
    plan = _stage_plan(run_dir, "finetune", recipe.finetune_epochs, recipe.finetune_lr, int(recipe.warmup_epochs))
    _run_stage(model, "finetune", plan, recipe, data, validation, run_dir, deadline)
    if plan["epochs"] != recipe.finetune_epochs:
        recipe = replace(recipe, finetune_epochs=plan["epochs"])
        (run_dir / "recipe.json").write_text(json.dumps(asdict(recipe), indent=2))
    if recipe.refine_epochs > 0:
        if not done_file(run_dir, "refine").exists():
            load_model_weights(model, best_files(run_dir, recipe.input_size)[0])  # restart from the best so far
        if recipe.final_input_size != recipe.input_size:
            # Progressive resizing: same weights, larger input; fresh validation data at that size.
            weights = model.get_weights()
            model = build_model(recipe.final_input_size, recipe.alpha, recipe.dropout, None,
                                bn_momentum=recipe.bn_momentum)
            set_trainable(model, recipe.fine_tune_from)
            model.set_weights(weights)
            validation = _Validation(val_split, recipe.final_input_size)
        if not done_file(run_dir, "refine").exists() and not epoch_file(run_dir, 0).exists():
            save_model_weights(model, epoch_file(run_dir, 0))
        _run_stage(model, "refine", _stage_plan(run_dir, "refine", recipe.refine_epochs, recipe.refine_lr, 1),
                   recipe, data, validation, run_dir, deadline)
        if recipe.refine_average:
            _average_refine(model, run_dir, validation)
    load_model_weights(model, best_files(run_dir, recipe.final_input_size)[0])
    log.info("training done in %.1f min", (time.time() - started) / 60.0)
    return model, recipe
