import math

import numpy as np
import pytest

from edge.config import SmoothingConfig
from edge.smoothing import TrackSmoother, ema_alpha, ema_update, time_constant

HAPPY = np.array([0, 0, 0, 1, 0, 0, 0], np.float32)
SAD = np.array([0, 0, 0, 0, 1, 0, 0], np.float32)


def test_alpha_at_the_reference_rate_is_the_configured_alpha():
    tau = time_constant(0.3, 8.0)
    assert ema_alpha(1 / 8, tau) == pytest.approx(0.3)


def test_two_half_steps_equal_one_full_step():
    tau = time_constant(0.3, 8.0)
    start, target = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    one = ema_update(start, target, ema_alpha(0.25, tau))
    two = ema_update(ema_update(start, target, ema_alpha(0.125, tau)), target, ema_alpha(0.125, tau))
    assert one == pytest.approx(two)


@pytest.mark.parametrize("fps", [4.0, 8.0, 15.0, 30.0])
def test_frame_rate_does_not_change_the_smoothing(fps):
    """After 1 s of constant 'sad' following 'happy', every rate lands on the same value."""
    smoother = TrackSmoother(SmoothingConfig(alpha=0.3, reference_fps=8.0))
    smoother.update("t", 0.0, HAPPY)
    steps = int(round(fps))
    for k in range(1, steps + 1):
        state = smoother.update("t", k / fps, SAD)
    expected_sad = 1.0 - math.exp(-1.0 / time_constant(0.3, 8.0))
    assert state.smoothed[4] == pytest.approx(expected_sad, abs=1e-5)


def test_low_confidence_observations_are_ignored_by_default():
    smoother = TrackSmoother(SmoothingConfig(min_confidence=0.5, low_confidence_weight=0.0))
    smoother.update("t", 0.0, HAPPY)
    unsure = np.full(7, 1 / 7, np.float32)
    state = smoother.update("t", 0.5, unsure)
    assert state.smoothed == pytest.approx(HAPPY)
    assert smoother.update("new", 0.0, unsure) is None  # nor do they start a track


def test_low_confidence_observations_can_be_down_weighted():
    full = TrackSmoother(SmoothingConfig(min_confidence=0.0))
    weak = TrackSmoother(SmoothingConfig(min_confidence=0.99, low_confidence_weight=0.5))
    for smoother in (full, weak):
        smoother.update("t", 0.0, HAPPY)
    mixed = (0.6 * SAD + 0.4 * HAPPY).astype(np.float32)
    assert weak.update("t", 0.125, mixed).smoothed[4] < full.update("t", 0.125, mixed).smoothed[4]


def test_sliding_window_forgets_what_left_the_window():
    smoother = TrackSmoother(SmoothingConfig(method="window", window_seconds=2.0))
    smoother.update("t", 0.0, HAPPY)
    smoother.update("t", 1.0, HAPPY)
    state = smoother.update("t", 2.5, SAD)  # t=0 left the window
    assert state.smoothed[3] == pytest.approx(0.5) and state.smoothed[4] == pytest.approx(0.5)
    state = smoother.update("t", 4.0, SAD)
    assert state.smoothed[4] == pytest.approx(1.0)


def test_descriptors_transitions_dominance_and_change_rate():
    smoother = TrackSmoother(SmoothingConfig(alpha=0.5, reference_fps=1.0))
    smoother.update("t", 0.0, HAPPY)
    state = smoother.update("t", 1.0, SAD)  # 0.5/0.5 tie → argmax stays happy
    assert state.transitions == 0 and state.last_change == pytest.approx(1.0)
    state = smoother.update("t", 2.0, SAD)  # 0.25 happy / 0.75 sad
    assert state.transitions == 1 and state.dominant == 4 and state.dominant_changed
    assert state.dominance_seconds == 0.0
    state = smoother.update("t", 3.0, SAD)
    assert not state.dominant_changed and state.dominance_seconds == pytest.approx(1.0)
    assert state.change_rate == pytest.approx((1.0 + 0.5 + 0.25) / 3.0)
    smoother.end(["t"])
    assert "t" not in smoother and len(smoother) == 0


def test_dominant_class_holds_until_another_beats_it_by_the_margin():
    from edge.smoothing.smoother import dominant_class

    near_tie = np.array([0.0, 0.0, 0.0, 0.0, 0.42, 0.0, 0.38])  # sad just above neutral
    assert dominant_class(near_tie, current=6, margin=0.2) == 6  # neutral holds
    assert dominant_class(near_tie, current=6, margin=0.0) == 4
    clear = np.array([0.0, 0.0, 0.0, 0.0, 0.7, 0.0, 0.3])
    assert dominant_class(clear, current=6, margin=0.2) == 4  # a real change goes through
