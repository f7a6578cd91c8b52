"""Class shares as a prevalence estimate (edge/lsi/quantify.py), on posteriors with a known truth."""

import numpy as np

from edge.calibration import softmax
from edge.lsi.quantify import capped_proportions, em_shares, support_caps

# A FER2013-like training prior: disgust is rare.
PRIOR = np.array([0.13, 0.015, 0.14, 0.25, 0.17, 0.115, 0.18])
PRIOR = PRIOR / PRIOR.sum()


def posteriors(true_shares: np.ndarray, n: int, separation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Faces drawn with true_shares; each is a noisy point near its class's corner; exact Bayes posteriors
    under PRIOR (what a calibrated model trained on PRIOR reports)."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(PRIOR), n, p=true_shares)
    features = separation * np.eye(len(PRIOR))[labels] + rng.normal(size=(n, len(PRIOR)))
    log_likelihood = separation * features  # Gaussian with identity covariance, up to terms equal for all classes
    return softmax(np.log(PRIOR) + log_likelihood).astype(np.float64), labels


def test_capped_proportions_scale_freely_below_the_caps_and_stop_at_them():
    expected = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(capped_proportions(expected, np.ones(3)), expected)
    capped = capped_proportions(expected, np.array([0.3, 1.0, 1.0]))
    np.testing.assert_allclose(capped, [0.3, 0.42, 0.28])  # the rest keep their ratio 3 : 2
    assert abs(capped.sum() - 1.0) < 1e-12


def test_support_caps_count_each_class_among_the_top_ranks():
    rows = np.array([[0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.2, 0.7, 0.1]])
    np.testing.assert_allclose(support_caps(rows, 1), [2 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(support_caps(rows, 2), [1.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(support_caps(rows, 0), np.ones(3))


def test_em_recovers_shifted_shares_with_and_without_the_support_constraint():
    truth = np.array([0.05, 0.0, 0.05, 0.10, 0.20, 0.0, 0.60])  # a calm class: mostly neutral, some sad
    probabilities, labels = posteriors(truth, 3000, separation=1.6, seed=3)
    empirical = np.bincount(labels, minlength=len(PRIOR)) / len(labels)
    for rank in (0, 2):
        shares = em_shares(probabilities, PRIOR, support_rank=rank)
        assert abs(shares.sum() - 1.0) < 1e-9
        assert np.abs(shares - empirical).max() < 0.05, (rank, shares.round(3), empirical.round(3))
    # plain mean probabilities stay pulled toward the training prior
    assert np.abs(probabilities.mean(axis=0) - empirical).max() > 0.1


def test_support_constraint_stops_flatter_probabilities_from_conjuring_a_rare_class():
    truth = np.array([0.0, 0.0, 0.0, 0.2, 0.1, 0.0, 0.7])  # no disgust at all
    calibrated, _ = posteriors(truth, 300, separation=1.6, seed=5)
    flatter = softmax(np.log(calibrated), 1.5).astype(np.float64)  # less confident than calibrated
    disgust = 1
    unconstrained = em_shares(flatter, PRIOR, support_rank=0)
    constrained = em_shares(flatter, PRIOR, support_rank=2)
    assert unconstrained[disgust] > 0.1  # the failure the constraint exists for
    assert constrained[disgust] <= support_caps(flatter, 2)[disgust] + 1e-9
    assert constrained[disgust] < 0.02
    assert np.all(constrained <= support_caps(flatter, 2) + 1e-9)
