"""Two-stage training of the expression model: head first, then the upper backbone.

A run lives in one directory (checkpoints, log, recipe); running again with the same directory
resumes where it stopped. Selection uses PublicTest only; PrivateTest is never looked at here.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import tensorflow as tf

from edge import metrics
from edge.datasets import FER2013_LABELS, Split, load_fer2013
from edge.inference.preprocess import prepare_batch
from edge.training.augment import augment
from edge.training.model import build_model, set_trainable
from edge.training.recipe import Recipe

log = logging.getLogger("lsi_edge.train")


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


def _train_dataset(images: np.ndarray, targets: np.ndarray, weights: np.ndarray, recipe: Recipe):
    data = tf.data.Dataset.from_tensor_slices((images, targets, weights))
    data = data.shuffle(len(images), seed=recipe.seed, reshuffle_each_iteration=True)
    data = data.batch(recipe.batch_size, drop_remainder=True)

    def _augment(x, y, w):
        return augment(tf.cast(x, tf.float32), recipe.augment), y, w

    return data.map(_augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


class _Progress(tf.keras.callbacks.Callback):
    """Per epoch: time, ETA, PublicTest accuracy / macro-F1; keeps the best weights."""

    def __init__(self, stage: str, total_epochs: int, val_x: np.ndarray, val_y: np.ndarray,
                 run_dir: Path, log_file: Path):
        super().__init__()
        self.stage, self.total = stage, total_epochs
        self.val_x, self.val_y = val_x, val_y
        self.log_file = log_file
        self.best_weights, self.best_file = best_files(run_dir, val_x.shape[1])
        self.started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.monotonic() - self.started
        logits = self.model.predict(self.val_x, batch_size=256, verbose=0)
        predicted = logits.argmax(axis=1)
        val_acc = metrics.accuracy(self.val_y, predicted)
        val_f1 = metrics.macro_f1(self.val_y, predicted, len(FER2013_LABELS))
        best = json.loads(self.best_file.read_text()) if self.best_file.exists() else {"val_accuracy": -1}
        improved = val_acc > best["val_accuracy"]
        if improved:
            self.model.save_weights(self.best_weights)
            best = {"val_accuracy": val_acc, "val_macro_f1": val_f1, "stage": self.stage, "epoch": epoch + 1}
            self.best_file.write_text(json.dumps(best, indent=2))
        record = {"stage": self.stage, "input_size": int(self.val_x.shape[1]), "epoch": epoch + 1,
                  "epochs": self.total, "seconds": round(elapsed, 1),
                  "loss": round(float(logs.get("loss", float("nan"))), 4),
                  "val_accuracy": round(val_acc, 4), "val_macro_f1": round(val_f1, 4), "best": improved}
        with open(self.log_file, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        eta_min = elapsed * (self.total - epoch - 1) / 60.0
        log.info("[%s] epoch %d/%d  %.0fs  loss %.4f  val acc %.4f  macro-F1 %.4f%s  ETA %.1f min",
                 self.stage, epoch + 1, self.total, elapsed, record["loss"], val_acc, val_f1,
                 "  (best)" if improved else "", eta_min)


def best_files(run_dir: Path, input_size: int) -> tuple[Path, Path]:
    """Best PublicTest weights and their record, kept per input size (a resized stage competes
    only with itself: its model is the one that ships)."""
    return run_dir / f"best_s{input_size}.weights.h5", run_dir / f"best_s{input_size}.json"


def _warmup_cosine(peak_lr: float, total_steps: int, warmup_steps: int):
    """Linear warm-up from peak/10 to the peak, then cosine decay to 1 % of it over the rest."""
    total_steps = max(1, total_steps)
    warmup_steps = min(warmup_steps, total_steps - 1)
    return tf.keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_lr / 10, decay_steps=total_steps - warmup_steps,
        warmup_target=peak_lr, warmup_steps=warmup_steps, alpha=0.01)


def _loss(recipe: Recipe):
    return tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing)


def _run_stage(model, stage: str, epochs: int, lr, recipe: Recipe, train_data, steps: int,
               val_x, val_y, run_dir: Path) -> None:
    done = run_dir / f"{stage}.done.weights.h5"
    if done.exists():
        model.load_weights(done)
        log.info("[%s] already complete, loaded %s", stage, done)
        return
    if epochs <= 0:
        return
    optimizer = tf.keras.optimizers.AdamW(learning_rate=lr, weight_decay=recipe.weight_decay)
    model.compile(optimizer=optimizer, loss=_loss(recipe))
    callbacks = [
        tf.keras.callbacks.BackupAndRestore(str(run_dir / f"{stage}.backup")),
        _Progress(stage, epochs, val_x, val_y, run_dir, run_dir / "log.jsonl"),
    ]
    model.fit(train_data, epochs=epochs, steps_per_epoch=steps, callbacks=callbacks, verbose=0)
    model.save_weights(done)


def train(recipe: Recipe, shared: Path, run_dir: Path) -> tf.keras.Model:
    """Train (or resume) into run_dir; returns the model holding the best PublicTest weights."""
    run_dir.mkdir(parents=True, exist_ok=True)
    recipe_file = run_dir / "recipe.json"
    if recipe_file.exists():
        stored = Recipe.from_dict(json.loads(recipe_file.read_text()))
        if stored != recipe and not recipe.extends(stored):
            raise ValueError(f"{run_dir} holds a run with another recipe; use a new --run-dir "
                             f"or the same options to resume it")
        if stored != recipe:
            if (run_dir / "refine.done.weights.h5").exists():
                raise ValueError(f"{run_dir}: the refine stage already ran with other settings; use a new --run-dir")
            recipe_file.write_text(json.dumps(asdict(recipe), indent=2))
            log.info("extending the run in %s with a refine stage of %d epochs", run_dir, recipe.refine_epochs)
        log.info("resuming the run in %s", run_dir)
    else:
        recipe_file.write_text(json.dumps(asdict(recipe), indent=2))
    tf.keras.utils.set_random_seed(recipe.seed)

    splits = load_fer2013(shared, with_ferplus=recipe.ferplus_weight > 0)
    train_split = _subset(splits["train"], recipe.max_train_images, recipe.seed)
    val_split = _subset(splits["val"], recipe.max_val_images, recipe.seed)
    targets = soft_targets(train_split, recipe.ferplus_weight)
    sample_weights = class_weights(train_split.labels, recipe.class_weight_power)[train_split.labels]
    steps = max(1, len(train_split.labels) // recipe.batch_size)

    def data_at(size: int):
        train_x = prepare_batch(train_split.images, size)
        log.info("training on %d images (%d steps/epoch), validating on %d; input %d, alpha %g",
                 len(train_x), steps, len(val_split.labels), size, recipe.alpha)
        return _train_dataset(train_x, targets, sample_weights, recipe), prepare_batch(val_split.images, size)

    train_data, val_x = data_at(recipe.input_size)
    model = build_model(recipe.input_size, recipe.alpha, recipe.dropout,
                        shared if recipe.pretrained else None, bn_momentum=recipe.bn_momentum)
    set_trainable(model, None)
    _run_stage(model, "head", recipe.head_epochs, recipe.head_lr, recipe, train_data, steps,
               val_x, val_split.labels, run_dir)
    set_trainable(model, recipe.fine_tune_from)
    schedule = _warmup_cosine(recipe.finetune_lr, recipe.finetune_epochs * steps, int(recipe.warmup_epochs * steps))
    _run_stage(model, "finetune", recipe.finetune_epochs, schedule, recipe, train_data, steps,
               val_x, val_split.labels, run_dir)
    if recipe.refine_epochs > 0:
        if not (run_dir / "refine.done.weights.h5").exists():
            model.load_weights(best_files(run_dir, recipe.input_size)[0])  # restart from the best so far
        if recipe.final_input_size != recipe.input_size:
            # Progressive resizing: same weights, larger input; fresh data at that size.
            weights = model.get_weights()
            model = build_model(recipe.final_input_size, recipe.alpha, recipe.dropout, None,
                                bn_momentum=recipe.bn_momentum)
            set_trainable(model, recipe.fine_tune_from)
            model.set_weights(weights)
            train_data, val_x = data_at(recipe.final_input_size)
        refine = _warmup_cosine(recipe.refine_lr, recipe.refine_epochs * steps, steps // 2)
        _run_stage(model, "refine", recipe.refine_epochs, refine, recipe, train_data, steps,
                   val_x, val_split.labels, run_dir)
    model.load_weights(best_files(run_dir, recipe.final_input_size)[0])
    return model
