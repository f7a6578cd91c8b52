"""FER2013 and FER+ loading (numpy only, so evaluation needs no TensorFlow)."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FER2013_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# FER+ vote columns mapped to FER2013 indices; contempt / unknown / NF have no FER2013 class.
FERPLUS_TO_FER2013 = {"anger": 0, "disgust": 1, "fear": 2, "happiness": 3, "sadness": 4, "surprise": 5, "neutral": 6}
SPLITS = ("train", "val", "test")  # Training / PublicTest / PrivateTest


class DataMissingError(FileNotFoundError):
    """The shared data folder lacks a file; the message says which and how to point at it."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64, FER2013 order
    exact: np.ndarray  # (N,) bool: row aligned with the original file (FER+ votes valid)
    ferplus: np.ndarray | None  # (N, 7) float32 vote shares over FER2013 classes, NaN rows where unusable


def fer2013_path(shared: Path) -> Path:
    return shared / "data" / "fer2013.npz"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _require(path: Path) -> Path:
    if not path.is_file():
        raise DataMissingError(
            f"{path} not found. Put the shared data folder beside the repository (../shared) "
            f"or set LSI_EDGE_SHARED / --data-dir to the folder that holds data/fer2013.npz."
        )
    return path


def load_ferplus_votes(shared: Path) -> np.ndarray:
    """(35887, 7) FER+ vote shares in FER2013 class order; NaN where no FER2013-class vote exists."""
    path = _require(shared / "data" / "ferplus_votes.csv")
    rows = []
    with open(path, newline="") as handle:
        for record in csv.DictReader(handle):
            votes = np.zeros(7, np.float32)
            for column, index in FERPLUS_TO_FER2013.items():
                votes[index] = float(record[column])
            rows.append(votes)
    votes = np.stack(rows)
    totals = votes.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, votes / totals, np.nan)
    return shares.astype(np.float32)


def load_fer2013(shared: Path, with_ferplus: bool = True) -> dict[str, Split]:
    """The three official splits, with FER+ shares aligned row by row where valid."""
    archive = np.load(_require(fer2013_path(shared)))
    shares = load_ferplus_votes(shared) if with_ferplus else None
    splits: dict[str, Split] = {}
    offset = 0
    for name in SPLITS:
        images, labels, exact = archive[f"x_{name}"], archive[f"y_{name}"], archive[f"exact_{name}"]
        ferplus = None
        if shares is not None:
            ferplus = shares[offset:offset + len(labels)].copy()
            ferplus[~exact] = np.nan  # votes of non-exact rows belong to other images
        splits[name] = Split(images=images, labels=labels.astype(np.int64), exact=exact, ferplus=ferplus)
        offset += len(labels)
    return splits
