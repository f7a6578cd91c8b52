"""The LSI scale: LSI = wᵀp̂, mapped linearly so the worst class is 0 and the best 100, and four
bands that say what a figure means.

With the default weights a class of neutral faces reads 67, a happy one 100 and a sad one 11.
The band edges are the LSI of reference classes (mostly neutral, with a share of sad or happy
faces), so they move with the weights and mean the same thing whatever the weights are. The
dashboard's colours, the payload documentation and the alert messages all use these bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from lsi_contract.labels import EXPRESSION_LABELS

DEFAULT_LSI_WEIGHTS = {"happy": 1.0, "surprise": 0.6, "neutral": 0.4,
                       "sad": -0.6, "fear": -0.6, "angry": -0.8, "disgust": -0.8}

# (band name, meaning, composition at the band's lower edge: class → share, rest neutral)
_BANDS = (
    ("low", "unusually low: about 40 % or more of the readable faces look unhappy", None),
    ("below calm", "below a calm class: some unhappy faces", {"sad": 0.40}),
    ("calm", "a calm, attentive class: mostly neutral faces", {"sad": 0.15}),
    ("positive", "a lively or amused class: a quarter or more of the faces happy", {"happy": 0.25}),
)


def weight_vector(weights: Mapping[str, float], labels: Sequence[str]) -> np.ndarray:
    """Class-name weights in the model's output order."""
    return np.array([weights[name] for name in labels], np.float64)


def lsi(probabilities: np.ndarray, weights: np.ndarray) -> np.ndarray | float:
    """0–100 index of one (C,) or many (N, C) probability vectors."""
    low, high = float(weights.min()), float(weights.max())
    raw = np.asarray(probabilities, np.float64) @ weights
    scaled = np.clip((raw - low) / (high - low) * 100.0, 0.0, 100.0)
    return float(scaled) if np.ndim(scaled) == 0 else scaled


@dataclass(frozen=True)
class LsiBand:
    name: str
    low: float  # inclusive
    high: float  # exclusive (the top band includes 100)
    meaning: str


def _composition_lsi(shares: Mapping[str, float], weights: np.ndarray, labels: Sequence[str]) -> float:
    vector = np.zeros(len(labels))
    for name, share in shares.items():
        vector[labels.index(name)] = share
    vector[labels.index("neutral")] += 1.0 - sum(shares.values())
    return float(lsi(vector, weights))


def lsi_bands(weights: Mapping[str, float] = DEFAULT_LSI_WEIGHTS,
              labels: Sequence[str] = EXPRESSION_LABELS) -> tuple[LsiBand, ...]:
    vector = weight_vector(weights, labels)
    edges = [0.0] + [round(_composition_lsi(c, vector, list(labels)), 1) for _, _, c in _BANDS[1:]] + [100.0]
    return tuple(LsiBand(name, edges[k], edges[k + 1], meaning) for k, (name, meaning, _) in enumerate(_BANDS))


def band_of(value: float, bands: Sequence[LsiBand]) -> LsiBand:
    return next((b for b in bands if b.low <= value < b.high), bands[-1])


def bands_markdown(bands: Sequence[LsiBand]) -> str:
    rows = [f"| {b.name} | {b.low:g}–{b.high:g} | {b.meaning} |" for b in bands]
    return "\n".join(["| band | LSI | meaning |", "|---|---|---|", *rows])
