import numpy as np
import pytest

from edge.inference.align import FER_MEAN, FER_STD, aligned_crop, eye_angle, standardize
from edge.types import Detection


def _detection(right_eye, left_eye, box=(40.0, 40.0, 80.0, 80.0)) -> Detection:
    keypoints = np.zeros((6, 2), np.float32)
    keypoints[0], keypoints[1] = right_eye, left_eye
    return Detection(box, 0.9, keypoints)


def test_eye_angle():
    assert eye_angle(_detection((50, 60), (70, 60))) == pytest.approx(0.0)
    assert eye_angle(_detection((50, 60), (70, 80))) == pytest.approx(45.0)


def test_crop_levels_the_eyes():
    grey = np.zeros((120, 120), np.uint8)
    # Two bright "eyes" on a line tilted by 30°.
    centre = np.array([60.0, 60.0])
    direction = np.array([np.cos(np.radians(30)), np.sin(np.radians(30))])
    right, left = centre - 10 * direction, centre + 10 * direction
    for x, y in (right, left):
        grey[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2] = 255
    crop = aligned_crop(grey, _detection(right, left, (40, 40, 80, 80)), 64, 0.0, "none")
    ys, xs = np.nonzero(crop > 100)
    left_half, right_half = ys[xs < 32], ys[xs >= 32]
    assert abs(left_half.mean() - right_half.mean()) <= 1.5  # level after alignment


def test_standardize_maps_to_fer_statistics_and_survives_flat_crops():
    rng = np.random.default_rng(0)
    dim = (rng.random((48, 48)) * 40 + 10).astype(np.uint8)
    out = standardize(dim).astype(np.float32)
    assert out.mean() == pytest.approx(FER_MEAN, abs=3) and out.std() == pytest.approx(FER_STD, abs=4)
    flat = standardize(np.full((48, 48), 7, np.uint8))
    assert flat.min() == flat.max() == FER_MEAN
