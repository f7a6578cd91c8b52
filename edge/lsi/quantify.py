"""Class shares of a window as a prevalence estimate, corrected for the model's known confusion.

Counting each face's most likely class (classify-and-count) inherits the classifier's confusion:
a class it rarely predicts (angry, disgust) vanishes, one it over-predicts (sad, neutral)
swells. With M[i] = E[p | true class i] measured on held-out faces (FER2013 PublicTest, per face
size), the mean probability vector p̄ of a window satisfies p̄ ≈ Mᵀq for the true shares q, so q is
recovered by least squares on the simplex (probabilistic adjusted classify-and-count; Bella et
al. 2010). EM re-estimation of the priors (Saerens et al. 2002) is the other estimator compared.

EM trusts the calibration: where a camera makes the model less confident than PublicTest did, the
probabilities of a rare class (disgust: 1.5 % of the faces it was calibrated on) rise above its
prior on every face, and unconstrained EM turns that into a large share of a class no face shows.
So the shipped EM is a constrained maximum likelihood: no class's share may exceed the share of the
window's readings that rank it among their `support_rank` most likely classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.optimize import nnls

ShareMethod = Literal["count", "average", "adjusted", "em"]
SHARE_METHODS: tuple[str, ...] = ("count", "average", "adjusted", "em")
CONFUSION_CROP_PX = (48, 32, 24)  # face crop sizes the confusion is measured at (FER2013's own is 48)
_SIMPLEX_WEIGHT = 1e3  # weight of the Σq = 1 row in the least squares


@dataclass(frozen=True)
class ConfusionModel:
    """E[p | true class] of the shipped model at several face sizes, and the prior it was measured under."""

    crop_px: tuple[int, ...]  # descending
    matrices: np.ndarray  # (B, C, C), row i = mean probabilities of faces of true class i
    prior: np.ndarray  # (C,) class shares of the faces it was measured on

    @classmethod
    def from_metadata(cls, raw: dict | None) -> "ConfusionModel | None":
        if not raw:
            return None
        order = np.argsort(raw["crop_px"])[::-1]
        return cls(tuple(int(raw["crop_px"][i]) for i in order), np.asarray(raw["matrices"], np.float64)[order],
                   np.asarray(raw["prior"], np.float64))

    def band(self, crop_px: float) -> int:
        """Index of the measured size closest (in scale) to a face crop of crop_px pixels."""
        return int(np.argmin([abs(np.log(max(crop_px, 1.0) / size)) for size in self.crop_px]))


def measure_confusion(probabilities: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """(C, C): row i = mean predicted probabilities over the faces of true class i."""
    matrix = np.zeros((classes, classes))
    for k in range(classes):
        chosen = probabilities[labels == k]
        matrix[k] = chosen.mean(axis=0) if len(chosen) else np.eye(classes)[k]
    return matrix


def adjusted_shares(mean_by_band: np.ndarray, count_by_band: np.ndarray, model: ConfusionModel) -> np.ndarray:
    """q ≥ 0, Σq = 1 minimising Σ_b n_b ‖M_bᵀ q − p̄_b‖² over the face-size bands present."""
    rows, targets = [], []
    for band, count in enumerate(count_by_band):
        if count > 0:
            scale = np.sqrt(count / count_by_band.sum())
            rows.append(scale * model.matrices[band].T)
            targets.append(scale * mean_by_band[band])
    classes = model.matrices.shape[1]
    a = np.vstack([*rows, _SIMPLEX_WEIGHT * np.ones((1, classes))])
    b = np.concatenate([*targets, [_SIMPLEX_WEIGHT]])
    q, _ = nnls(a, b)
    return q / q.sum() if q.sum() > 0 else np.full(classes, 1.0 / classes)


def support_caps(probabilities: np.ndarray, rank: int) -> np.ndarray:
    """(C,): the share of rows that rank each class among their `rank` most likely; all 1 for rank 0."""
    classes = probabilities.shape[1]
    if rank <= 0 or rank >= classes:
        return np.ones(classes)
    top = np.argsort(-probabilities, axis=1)[:, :rank]
    return np.bincount(top.ravel(), minlength=classes) / len(probabilities)


def capped_proportions(expected: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """argmax Σ e_k log q_k over q ≥ 0, Σq = 1, q ≤ caps (Σ caps ≥ 1): q_k = min(cap_k, λ·e_k), the
    classes at their cap found by raising the set until it no longer grows."""
    capped = np.zeros(len(expected), bool)
    for _ in range(len(expected)):
        scale = (1.0 - caps[capped].sum()) / max(expected[~capped].sum(), 1e-12)
        grown = capped | (scale * expected > caps)
        if (grown == capped).all():
            break
        capped = grown
    return np.where(capped, caps, scale * expected)


def em_shares(probabilities: np.ndarray, prior: np.ndarray, support_rank: int = 0, iterations: int = 100,
              tolerance: float = 1e-6) -> np.ndarray:
    """Saerens–Latinne–Decaestecker: re-weight posteriors by q / prior until q stops changing; with
    support_rank > 0 each M-step keeps every share within support_caps (constrained maximum likelihood)."""
    caps = support_caps(probabilities, support_rank)
    q = capped_proportions(prior, caps)
    for _ in range(iterations):
        ratio = q / prior
        # E-step and the M-step's expected class counts in two matrix-vector products
        expected = ratio * (probabilities.T @ (1.0 / (probabilities @ ratio))) / len(probabilities)
        updated = capped_proportions(expected, caps)
        if np.abs(updated - q).max() < tolerance:
            return updated
        q = updated
    return q


def window_shares(method: str, probabilities: np.ndarray, crop_px: np.ndarray,
                  model: ConfusionModel | None, support_rank: int = 0) -> np.ndarray:
    """Class shares from the readable face-updates of a window: probabilities (N, C), crop sizes (N,);
    support_rank: the EM's support constraint (see em_shares)."""
    classes = probabilities.shape[1]
    if method == "count":
        return np.bincount(probabilities.argmax(axis=1), minlength=classes) / len(probabilities)
    if method == "average" or model is None:
        return probabilities.mean(axis=0)
    if method == "em":
        return em_shares(probabilities, model.prior, support_rank)
    bands = np.array([model.band(px) for px in crop_px])
    means = np.zeros((len(model.crop_px), classes))
    counts = np.zeros(len(model.crop_px))
    for band in range(len(model.crop_px)):
        chosen = probabilities[bands == band]
        counts[band] = len(chosen)
        if len(chosen):
            means[band] = chosen.mean(axis=0)
    return adjusted_shares(means, counts, model)
