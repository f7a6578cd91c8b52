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


@pytest.mark.parametrize("roll", [0.0, 30.0])
def test_offset_moves_the_crop_along_the_faces_own_vertical(roll):
    grey = np.zeros((160, 160), np.uint8)
    centre = np.array([80.0, 80.0])
    along = np.array([np.cos(np.radians(roll)), np.sin(np.radians(roll))])  # the eye line
    down = np.array([-along[1], along[0]])  # the face's downward axis in the image
    right, left = centre - 10 * along, centre + 10 * along
    mark = centre + 12 * down  # a bright spot below the box centre, on the face's axis
    grey[int(round(mark[1])) - 1:int(round(mark[1])) + 2, int(round(mark[0])) - 1:int(round(mark[0])) + 2] = 255
    box = (60.0, 60.0, 100.0, 100.0)
    centred = aligned_crop(grey, _detection(right, left, box), 64, 0.0, "none")
    raised = aligned_crop(grey, _detection(right, left, box), 64, 0.0, "none", offset=-0.1)
    (ys0, xs0), (ys1, xs1) = np.nonzero(centred > 100), np.nonzero(raised > 100)
    # 0.1 box sizes up = 4 px of the frame = 6.4 px of the crop: the spot moves down in the crop
    assert ys1.mean() - ys0.mean() == pytest.approx(6.4, abs=1.0)
    assert xs1.mean() == pytest.approx(xs0.mean(), abs=1.0)


def test_default_crop_frames_faces_as_fer2013_does(shared):
    """The crop defaults are what `lsi-edge eval --framing` measures (first 400 PublicTest faces)."""
    from edge.config import load_config
    from edge.datasets import fer2013_path
    from edge.evaluation.framing import measure_framing

    if not fer2013_path(shared).is_file():
        pytest.skip(f"FER2013 not found at {fer2013_path(shared)} (set LSI_EDGE_SHARED to the shared folder)")
    measured = measure_framing(shared, faces=400)
    defaults = load_config(None).classifier
    assert measured["found"] >= 0.9 * 2 * 400
    assert defaults.crop_margin == pytest.approx(measured["crop_margin"], abs=0.02)
    assert defaults.crop_offset == pytest.approx(measured["crop_offset"], abs=0.02)
