"""Calibration of the expression model's logits as pure numpy functions.

Temperature scaling (Guo et al., 2017) alone leaves a model trained on soft targets (label
smoothing, FER+ vote shares) over-confident at middling confidence and under-confident near 1: it
scales every logit alike. The shipped map adds a shared monotone map of each class's probability,
σ(slope · logit(p) + offset), renormalised over the classes (one-vs-rest Platt scaling with one
pair of parameters for all classes): three parameters, fitted by NLL on PublicTest, and the
order of the classes, so every argmax, is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

_EPS = 1e-9


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = np.asarray(logits, np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_z - scaled[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, low: float = 0.05, high: float = 20.0) -> float:
    """The T minimising validation NLL; NLL is unimodal in log T, so golden-section search suffices."""
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(80):
        if negative_log_likelihood(logits, labels, np.exp(c)) < negative_log_likelihood(logits, labels, np.exp(d)):
            b = d
        else:
            a = c
        c, d = b - ratio * (b - a), a + ratio * (b - a)
    return float(np.exp((a + b) / 2.0))


def rescale_class_probabilities(probabilities: np.ndarray, slope: float, offset: float) -> np.ndarray:
    """σ(slope · logit(p) + offset) for every class's p, renormalised; identity at (1, 0)."""
    p = np.clip(np.asarray(probabilities, np.float64), _EPS, 1.0 - _EPS)
    mapped = 1.0 / (1.0 + np.exp(-(slope * np.log(p / (1.0 - p)) + offset)))
    return (mapped / mapped.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class Calibration:
    """Logits → calibrated probabilities: softmax at a temperature, then the shared class-probability
    map (see the module's docstring). The defaults are the identity."""

    temperature: float = 1.0
    slope: float = 1.0
    offset: float = 0.0

    @property
    def has_class_map(self) -> bool:
        return (self.slope, self.offset) != (1.0, 0.0)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        scaled = softmax(logits, self.temperature)
        if not self.has_class_map:
            return scaled
        return rescale_class_probabilities(scaled, self.slope, self.offset)

    def negative_log_likelihood(self, logits: np.ndarray, labels: np.ndarray) -> float:
        probabilities = self.probabilities(logits).astype(np.float64)
        return float(-np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], _EPS))))

    @classmethod
    def from_metadata(cls, block: dict) -> "Calibration":
        """The model metadata's "calibration" block: its "class_map" when there is one, else its
        "temperature" (which stays the NLL-optimal temperature alone, so that software that knows
        only temperature scaling still reads a newer model sensibly)."""
        mapped = block.get("class_map")
        if mapped:
            return cls(float(mapped["temperature"]), float(mapped["slope"]), float(mapped["offset"]))
        return cls(float(block["temperature"]))

    def as_metadata(self) -> dict:
        return {"temperature": self.temperature, "slope": self.slope, "offset": self.offset}

    def metadata_block(self, temperature_alone: float) -> dict:
        """The "calibration" block that from_metadata reads back as this calibration."""
        block: dict = {"temperature": temperature_alone}
        if self.has_class_map:
            block["class_map"] = self.as_metadata()
        return block

    def describe(self) -> str:
        text = f"temperature {self.temperature:.3f}"
        if self.has_class_map:
            sign = "+" if self.offset >= 0 else "−"
            text += f", then σ({self.slope:.3f}·logit p {sign} {abs(self.offset):.3f}) per class"
        return text


def fit_calibration(logits: np.ndarray, labels: np.ndarray, temperature_alone: float | None = None) -> Calibration:
    """The three parameters minimising validation NLL, from the NLL-optimal temperature (fitted here
    unless given) and the identity map (Nelder-Mead over log T, slope, offset); never worse than
    temperature alone."""
    temperature_only = Calibration(fit_temperature(logits, labels) if temperature_alone is None else temperature_alone)

    def loss(params: np.ndarray) -> float:
        return Calibration(float(np.exp(params[0])), float(params[1]), float(params[2])).negative_log_likelihood(
            logits, labels)

    start = np.array([np.log(temperature_only.temperature), 1.0, 0.0])
    found = minimize(loss, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7, "maxiter": 2000})
    fitted = Calibration(float(np.exp(found.x[0])), float(found.x[1]), float(found.x[2]))
    if fitted.negative_log_likelihood(logits, labels) < temperature_only.negative_log_likelihood(logits, labels):
        return fitted
    return temperature_only
