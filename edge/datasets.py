"""FER2013 and FER+ loading (numpy only, so evaluation needs no TensorFlow)."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsi_contract.labels import EXPRESSION_LABELS

FER2013_LABELS = EXPRESSION_LABELS  # the model's output order
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


def agreed_labels(labels: np.ndarray, ferplus: np.ndarray) -> np.ndarray:
    """(N,) bool: the FER2013 label is also the class with the most FER+ votes (strictly; rows without
    valid votes never agree). FER2013's single labels are noisy (human accuracy on it is about 65 %);
    FER+ asked ten annotators per image. Where both name the same class, the label is one people agree on."""
    votes = np.nan_to_num(ferplus, nan=-1.0)
    own = votes[np.arange(len(labels)), labels]
    others = votes.copy()
    others[np.arange(len(labels)), labels] = -np.inf
    return ~np.isnan(ferplus).any(axis=1) & (own > others.max(axis=1))


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


# A compact, lossless copy of the Training and PublicTest splits (FER+ shares included) for
# machines that cannot hold fer2013.npz: a GPU machine whose transfer limit is below its size.
# Pixels are stored as lossless WebP (about 70 % of the raw bytes; fer2013.npz's zlib gets
# 95 %) and verified against a digest of the original arrays when read back.
TRAINING_PACK = Path("data") / "fer2013_training_pack.npz"
TRAINING_SPLITS = ("train", "val")


def _pixels_digest(images: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(images, np.uint8).tobytes()).hexdigest()


def write_training_pack(shared: Path, out: Path) -> Path:
    """Write the pack of shared's Training + PublicTest splits to out (a .npz)."""
    import cv2

    splits = load_fer2013(shared, with_ferplus=True)
    arrays: dict[str, np.ndarray] = {
        "source_fer2013_sha256": np.array(sha256_of(fer2013_path(shared))),
        "source_ferplus_sha256": np.array(sha256_of(shared / "data" / "ferplus_votes.csv")),
    }
    for name in TRAINING_SPLITS:
        split = splits[name]
        encoded = [cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()  # >100: lossless
                   for image in split.images]
        arrays[f"webp_{name}"] = np.frombuffer(b"".join(encoded), np.uint8)
        arrays[f"offsets_{name}"] = np.cumsum([0] + [len(blob) for blob in encoded]).astype(np.int64)
        arrays[f"y_{name}"], arrays[f"exact_{name}"] = split.labels, split.exact
        arrays[f"ferplus_{name}"] = split.ferplus
        arrays[f"sha256_{name}"] = np.array(_pixels_digest(split.images))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return out


def _read_training_pack(path: Path) -> dict[str, Split]:
    import cv2

    pack = np.load(path)
    splits = {}
    for name in TRAINING_SPLITS:
        blob, offsets = pack[f"webp_{name}"], pack[f"offsets_{name}"]
        images = np.stack([cv2.imdecode(blob[offsets[i]:offsets[i + 1]], cv2.IMREAD_GRAYSCALE)
                           for i in range(len(offsets) - 1)])
        if _pixels_digest(images) != str(pack[f"sha256_{name}"]):
            raise ValueError(f"{path}: the {name} pixels do not match the digest of the original arrays")
        splits[name] = Split(images, pack[f"y_{name}"].astype(np.int64), pack[f"exact_{name}"], pack[f"ferplus_{name}"])
    return splits


def load_training_splits(shared: Path, with_ferplus: bool = True) -> dict[str, Split]:
    """Training and PublicTest from fer2013.npz (+ FER+ votes), or from the pack when only it exists."""
    if fer2013_path(shared).is_file() or not (shared / TRAINING_PACK).is_file():
        splits = load_fer2013(shared, with_ferplus)
        return {name: splits[name] for name in TRAINING_SPLITS}
    splits = _read_training_pack(shared / TRAINING_PACK)
    if not with_ferplus:
        splits = {name: Split(s.images, s.labels, s.exact, None) for name, s in splits.items()}
    return splits
