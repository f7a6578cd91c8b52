"""The readability gate's sharpness floor: the measure, the floor from measured accuracy, the gate."""

import cv2
import numpy as np
import pytest

from edge.config import ReadabilityConfig
from edge.readability.gate import ReadabilityGate
from edge.readability.sharpness import sharpness, sharpness_floor
from tests.test_survey import frontal_face


def _face(size: int = 96) -> np.ndarray:
    """A synthetic face: oval, eyes, mouth and some skin texture."""
    rng = np.random.default_rng(1)
    face = np.full((size, size), 90, np.uint8)
    c = size // 2
    cv2.ellipse(face, (c, c), (int(size * 0.35), int(size * 0.45)), 0, 0, 360, 170, -1)
    for x in (int(size * 0.35), int(size * 0.65)):
        cv2.circle(face, (x, int(size * 0.4)), max(2, size // 16), 40, -1)
    cv2.ellipse(face, (c, int(size * 0.7)), (size // 6, size // 16), 0, 0, 180, 50, 2)
    return np.clip(face + rng.normal(0, 6, face.shape), 0, 255).astype(np.uint8)


def test_blur_and_enlargement_lower_sharpness_lighting_does_not():
    face = _face()
    blurred = cv2.GaussianBlur(face, (0, 0), 3.0)
    enlarged = cv2.resize(cv2.resize(face, (20, 20), interpolation=cv2.INTER_AREA), (96, 96))
    dim = (face * 0.3).astype(np.uint8)
    assert sharpness(blurred) < 0.5 * sharpness(face)
    assert sharpness(enlarged) < 0.5 * sharpness(face)
    assert sharpness(dim) == pytest.approx(sharpness(face), rel=0.15)  # contrast-normalised
    assert sharpness(cv2.cvtColor(face, cv2.COLOR_GRAY2BGR)) == pytest.approx(sharpness(face))


def test_floor_is_the_sharpest_bin_the_model_reads_badly():
    values = np.arange(1000, dtype=float)
    # accuracy 0.3 below 200, 0.45 from 200 to 300, 0.7 above: the floor is the edge at 300
    correct = np.where(values < 200, np.arange(1000) % 10 < 3, np.where(values < 300, np.arange(1000) % 20 < 9,
                                                                         np.arange(1000) % 10 < 7))
    floor, curve = sharpness_floor(values, correct, reads_well=0.5)
    assert floor == pytest.approx(299.7, abs=0.5)
    assert len(curve) == 10 and all(low < high for low, high, _ in curve)
    assert sharpness_floor(values, np.ones(1000, bool), reads_well=0.5)[0] == 0.0  # all read well: no floor


def test_gate_reads_sharp_faces_and_not_blurred_ones_when_the_model_has_a_floor():
    face = _face()
    blurred = cv2.GaussianBlur(face, (0, 0), 4.0)
    floor = (sharpness(face) + sharpness(blurred)) / 2.0
    gate = ReadabilityGate(ReadabilityConfig(), model_min_face_px=20.0, model_min_sharpness=floor)
    assessment = gate.assess(frontal_face(130, 124, 24))
    assert assessment.readable
    assert gate.assess_crop(assessment, face).readable
    rejected = gate.assess_crop(assessment, blurred)
    assert not rejected.readable and rejected.reason == "blurred"
    # no floor measured (the model reads blurred faces well), or switched off: every crop is read
    assert ReadabilityGate(ReadabilityConfig()).assess_crop(assessment, blurred).readable
    off = ReadabilityGate(ReadabilityConfig(min_sharpness=0.0), model_min_sharpness=floor)
    assert off.assess_crop(assessment, blurred).readable
