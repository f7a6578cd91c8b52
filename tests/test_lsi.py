import numpy as np
import pytest

from edge.config import DEFAULT_LSI_WEIGHTS, LsiConfig
from edge.datasets import FER2013_LABELS
from lsi_contract.scale import lsi, weight_vector
from lsi_contract.stats import mean_ci95


def test_weights_follow_the_model_output_order():
    shuffled = ("neutral", "happy", "sad", "angry", "fear", "disgust", "surprise")
    vector = weight_vector(DEFAULT_LSI_WEIGHTS, shuffled)
    assert vector.tolist() == [DEFAULT_LSI_WEIGHTS[name] for name in shuffled]


def test_range_is_0_to_100_best_and_worst_class():
    weights = weight_vector(DEFAULT_LSI_WEIGHTS, FER2013_LABELS)
    eye = np.eye(7)
    scores = lsi(eye, weights)
    assert scores[FER2013_LABELS.index("happy")] == pytest.approx(100.0)
    assert scores[FER2013_LABELS.index("angry")] == pytest.approx(0.0)
    assert scores.min() >= 0.0 and scores.max() <= 100.0
    rng = np.random.default_rng(0)
    random = rng.dirichlet(np.ones(7), size=1000)
    values = lsi(random, weights)
    assert values.min() >= 0.0 and values.max() <= 100.0


def test_positive_classes_score_above_negative_ones():
    weights = weight_vector(DEFAULT_LSI_WEIGHTS, FER2013_LABELS)
    score = dict(zip(FER2013_LABELS, lsi(np.eye(7), weights)))
    assert min(score["happy"], score["surprise"], score["neutral"]) > max(
        score["sad"], score["angry"], score["fear"], score["disgust"])


def test_lsi_is_linear_in_the_probabilities():
    weights = weight_vector(DEFAULT_LSI_WEIGHTS, FER2013_LABELS)
    a, b = np.eye(7)[3], np.eye(7)[4]
    assert lsi(0.5 * a + 0.5 * b, weights) == pytest.approx(0.5 * lsi(a, weights) + 0.5 * lsi(b, weights))


def test_weights_are_validated_by_class_name():
    with pytest.raises(ValueError, match="unknown class"):
        LsiConfig(weights={**DEFAULT_LSI_WEIGHTS, "boredom": 1.0})
    with pytest.raises(ValueError, match="missing"):
        LsiConfig(weights={"happy": 1.0})


def test_confidence_interval():
    mean, low, high = mean_ci95([50.0, 60.0, 70.0])
    assert mean == pytest.approx(60.0)
    assert low == pytest.approx(60.0 - 4.303 * 10.0 / 3 ** 0.5, abs=1e-3)
    assert high == pytest.approx(60.0 + 4.303 * 10.0 / 3 ** 0.5, abs=1e-3)
    assert mean_ci95([]) == (None, None, None)
    assert mean_ci95([42.0]) == (42.0, None, None)
