"""Teachers for distillation: trained INT8 expression models read the student's augmented faces.

Each training face gets the mean calibrated probabilities of the teachers that read a face of its
size well: a teacher's size floor is its own measured `readability.min_crop_px` (see
`edge.evaluation.confusion`), so a model trained at full resolution teaches the faces left at
full resolution and a classroom model also teaches the small ones. A face below every floor is
taught by the teacher with the lowest. The mix with the labels is the recipe's (refine stage).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.datasets import FER2013_LABELS
from edge.paths import REPO_ROOT


def teacher_paths(setting: str) -> tuple[Path, ...]:
    """The recipe's comma-separated list (relative to the repository) as checked paths."""
    paths = tuple((Path(p) if Path(p).is_absolute() else REPO_ROOT / p) for p in
                  (part.strip() for part in setting.split(",")) if p)
    for path in paths:
        if not path.is_file() or not path.with_suffix(".json").is_file():
            raise ValueError(f"--refine-teachers: {path} (and its .json metadata) not found; name trained "
                             f".tflite expression models, e.g. models/expression_int8.tflite")
        labels = tuple(json.loads(path.with_suffix(".json").read_text())["labels"])
        if labels != FER2013_LABELS:
            raise ValueError(f"--refine-teachers: {path} has labels {labels}, the student {FER2013_LABELS}")
    return paths


@dataclass
class Teachers:
    classifiers: list  # ExpressionClassifier (imported when loading: LiteRT is not needed without teachers)
    floors: np.ndarray  # (K,) smallest face side each teacher reads well

    @classmethod
    def load(cls, paths: tuple[Path, ...], threads: int = 1) -> "Teachers":
        from edge.inference.classifier import ExpressionClassifier

        classifiers = [ExpressionClassifier.load(path, threads) for path in paths]
        floors = [c.metadata.raw.get("readability", {}).get("min_crop_px", 0) for c in classifiers]
        return cls(classifiers, np.asarray(floors, np.float64))

    def probabilities(self, pixels: np.ndarray, face_px: np.ndarray) -> np.ndarray:
        """(N, S, S, 1) uint8 training inputs and their faces' sides (N,) → (N, C) float32."""
        each = np.stack([c.predict(list(pixels[..., 0])) for c in self.classifiers])  # (K, N, C)
        teaches = face_px[None, :] >= self.floors[:, None]
        teaches[int(np.argmin(self.floors)), ~teaches.any(axis=0)] = True
        return ((each * teaches[..., None]).sum(axis=0) / teaches.sum(axis=0)[:, None]).astype(np.float32)
