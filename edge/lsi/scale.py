"""What an LSI figure means: four bands, defined by class compositions and the configured weights.

With the default weights a class of neutral faces reads 67, a happy one 100 and a sad one 11.
The band edges are the LSI of reference classes (mostly neutral, with a share of sad or happy
faces), so they move with the weights and mean the same thing whatever the weights are. The
dashboard's colours, the payload documentation and the alert messages all use these bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from edge.lsi.index import lsi, weight_vector

# (band name, meaning, composition at the band's lower edge: class → share, rest neutral)
_BANDS = (
    ("low", "unusually low: about 40 % or more of the readable faces look unhappy", None),
    ("below calm", "below a calm class: some unhappy faces", {"sad": 0.40}),
    ("calm", "a calm, attentive class: mostly neutral faces", {"sad": 0.15}),
    ("positive", "a lively or amused class: a quarter or more of the faces happy", {"happy": 0.25}),
)


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


def lsi_bands(weights: Mapping[str, float], labels: Sequence[str]) -> tuple[LsiBand, ...]:
    vector = weight_vector(weights, labels)
    edges = [0.0] + [round(_composition_lsi(c, vector, list(labels)), 1) for _, _, c in _BANDS[1:]] + [100.0]
    return tuple(LsiBand(name, edges[k], edges[k + 1], meaning) for k, (name, meaning, _) in enumerate(_BANDS))


def band_of(value: float, bands: Sequence[LsiBand]) -> LsiBand:
    return next((b for b in bands if b.low <= value < b.high), bands[-1])


def bands_markdown(bands: Sequence[LsiBand]) -> str:
    rows = [f"| {b.name} | {b.low:g}–{b.high:g} | {b.meaning} |" for b in bands]
    return "\n".join(["| band | LSI | meaning |", "|---|---|---|", *rows])
