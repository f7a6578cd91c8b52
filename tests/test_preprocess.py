import numpy as np
import pytest

from edge.inference.preprocess import prepare_batch, to_gray


def test_gray_bgr_and_single_channel_crops_of_any_size():
    gray = np.full((48, 48), 100, np.uint8)
    bgr = np.zeros((120, 90, 3), np.uint8)
    bgr[..., 2] = 255  # pure red → OpenCV luma 76
    single = np.full((30, 30, 1), 7, np.uint8)
    batch = prepare_batch([gray, bgr, single], 64)
    assert batch.shape == (3, 64, 64, 1) and batch.dtype == np.uint8
    assert batch[0].min() == batch[0].max() == 100
    assert batch[1].min() == batch[1].max() == 76
    assert batch[2].min() == batch[2].max() == 7


def test_empty_batch():
    assert prepare_batch([], 64).shape == (0, 64, 64, 1)


@pytest.mark.parametrize("bad, error", [
    (np.zeros((10, 10), np.float32), TypeError),
    (np.zeros((10, 10, 4), np.uint8), ValueError),
    (np.zeros((2, 10, 10, 3), np.uint8), ValueError),
])
def test_bad_crops_fail_with_a_clear_error(bad, error):
    with pytest.raises(error):
        to_gray(bad)
