"""Augmented training batches made in worker processes, in an order that never depends on them.

Batch k of epoch e of a stage is a pure function of (seed, stage, e, k): its faces are the
k-th slice of that epoch's permutation and its pixels come from `augment.batch_rng`. Workers
only decide how fast batches arrive, so a run is the same with 0 or 16 workers, and a run
resumed at epoch e sees exactly the batches an uninterrupted run would have seen.

Workers are *spawned* (not forked): the trainer may already hold a GPU runtime (JAX, CUDA),
which must not be forked. They import numpy/OpenCV only and read the faces through a
memory-mapped .npy file.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from edge.training.augment import augment_batch, batch_rng
from edge.training.recipe import AugmentConfig
from edge.training.teachers import Teachers

_WORKER: dict = {}


def epoch_order(count: int, seed: int, stage: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, stage, epoch, 7919]).permutation(count)


def default_workers() -> int:
    """All cores but one for augmentation; none on a 1–2 core machine (the trainer needs them)."""
    cores = os.cpu_count() or 1
    return 0 if cores <= 2 else min(cores - 1, 15)


def _init_worker(faces_file: str, size: int, cfg: AugmentConfig, seed: int, batch_size: int,
                 teachers: tuple[Path, ...] = ()) -> None:
    import cv2

    cv2.setNumThreads(1)
    _WORKER.update(faces=np.load(faces_file, mmap_mode="r"), size=size, cfg=cfg, seed=seed,
                   batch_size=batch_size, order=(None, None), teachers=Teachers.load(teachers) if teachers else None)


def _make_batch(stage: int, epoch: int, batch: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The batch's pixels, and its teachers' probabilities when there are teachers."""
    faces = _WORKER["faces"]
    if _WORKER["order"][0] != (stage, epoch):
        _WORKER["order"] = ((stage, epoch), epoch_order(len(faces), _WORKER["seed"], stage, epoch))
    size, bs = _WORKER["size"], _WORKER["batch_size"]
    index = np.sort(_WORKER["order"][1][batch * bs:(batch + 1) * bs])  # sorted: sequential mmap reads
    pixels, face_px = augment_batch(np.asarray(faces[index]), size, _WORKER["cfg"],
                                    batch_rng(_WORKER["seed"], stage, epoch, batch))
    teachers = _WORKER["teachers"]
    return pixels, None if teachers is None else teachers.probabilities(pixels, face_px)


class AugmentedBatches:
    """Infinite stream of (pixels float32 (B,S,S,1), targets, sample weights) for one stage.

    teachers: trained models whose probabilities on each augmented face (`edge.training.teachers`)
    are mixed into its target with weight distill_weight.
    """

    def __init__(self, faces: np.ndarray, targets: np.ndarray, weights: np.ndarray, size: int,
                 cfg: AugmentConfig, seed: int, batch_size: int, stage: int, workers: int | None = None,
                 teachers: tuple[Path, ...] = (), distill_weight: float = 0.0):
        self.count = len(faces)
        self.targets, self.weights = targets, weights
        self.distill_weight = distill_weight if teachers else 0.0
        self.stage, self.seed, self.batch_size = stage, seed, batch_size
        self.steps = max(1, self.count // batch_size)
        self.workers = default_workers() if workers is None else workers
        self._folder = Path(tempfile.mkdtemp(prefix="lsi-batches-"))
        faces_file = self._folder / "faces.npy"
        np.save(faces_file, np.ascontiguousarray(faces))
        init = (str(faces_file), size, cfg, seed, batch_size, tuple(teachers))
        if self.workers > 0:
            self._pool = ProcessPoolExecutor(self.workers, multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=init)
        else:
            self._pool = None
            _init_worker(*init)

    def _labels(self, epoch: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
        order = epoch_order(self.count, self.seed, self.stage, epoch)
        index = np.sort(order[batch * self.batch_size:(batch + 1) * self.batch_size])
        return self.targets[index], self.weights[index]

    def stream(self, start_epoch: int = 0):
        """Batches from the first one of start_epoch on, forever (fit stops after its epochs)."""
        position = start_epoch * self.steps
        pending: deque = deque()
        ahead = 0 if self._pool is None else 4 * self.workers
        while True:
            while self._pool is not None and len(pending) <= ahead:
                epoch, batch = divmod(position + len(pending), self.steps)
                pending.append(self._pool.submit(_make_batch, self.stage, epoch, batch))
            epoch, batch = divmod(position, self.steps)
            pixels, taught = pending.popleft().result() if pending else _make_batch(self.stage, epoch, batch)
            targets, weights = self._labels(epoch, batch)
            if taught is not None:
                targets = (1.0 - self.distill_weight) * targets + self.distill_weight * taught
            position += 1
            yield pixels.astype(np.float32), targets, weights

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._folder, ignore_errors=True)
