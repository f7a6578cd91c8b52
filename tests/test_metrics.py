import numpy as np
import pytest

from edge import metrics
from edge.calibration import (
    Calibration,
    fit_calibration,
    fit_temperature,
    negative_log_likelihood,
    rescale_class_probabilities,
    softmax,
)


def test_confusion_and_per_class_scores():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    matrix = metrics.confusion_matrix(labels, predicted, 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    precision, recall, f1 = metrics.per_class_prf(matrix)
    assert precision == pytest.approx([0.5, 2 / 3, 1.0])
    assert recall == pytest.approx([0.5, 1.0, 0.5])
    assert metrics.macro_f1(labels, predicted, 3) == pytest.approx(np.mean([0.5, 0.8, 2 / 3]))
    assert metrics.accuracy(labels, predicted) == pytest.approx(4 / 6)


def test_absent_class_scores_zero_not_nan():
    precision, recall, f1 = metrics.per_class_prf(metrics.confusion_matrix(np.array([0, 0]), np.array([0, 0]), 2))
    assert np.isfinite([precision, recall, f1]).all()


def test_auroc_matches_pairwise_definition():
    rng = np.random.default_rng(3)
    positive = rng.random(200) < 0.3
    scores = np.round(rng.random(200) + positive * 0.4, 1)  # rounding makes ties
    pos, neg = scores[positive], scores[~positive]
    pairwise = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert metrics.binary_auroc(positive, scores) == pytest.approx(pairwise)
    assert np.isnan(metrics.binary_auroc(np.ones(3, bool), np.ones(3)))


def test_ece_zero_when_confidence_equals_accuracy_and_positive_when_overconfident():
    labels = np.zeros(100, np.int64)
    probabilities = np.tile([0.8, 0.2], (100, 1))
    probabilities[:20] = [0.2, 0.8]  # 80 % correct at confidence 0.8
    assert metrics.expected_calibration_error(labels, probabilities) == pytest.approx(0.0, abs=1e-9)
    overconfident = np.tile([0.99, 0.01], (100, 1))
    overconfident[:20] = [0.01, 0.99]
    assert metrics.expected_calibration_error(labels, overconfident) == pytest.approx(0.19, abs=1e-6)


def test_temperature_fit_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(size=(5000, 7)) * 2.0
    labels = np.array([rng.choice(7, p=p) for p in softmax(true_logits)])
    fitted = fit_temperature(true_logits * 3.0, labels)  # overconfident by a factor of 3
    assert fitted == pytest.approx(3.0, rel=0.1)
    assert negative_log_likelihood(true_logits * 3.0, labels, fitted) < negative_log_likelihood(
        true_logits * 3.0, labels, 1.0)


def test_softmax_rows_sum_to_one_and_temperature_flattens():
    logits = np.array([[4.0, 1.0, 0.0]])
    assert softmax(logits).sum() == pytest.approx(1.0)
    assert softmax(logits, 4.0).max() < softmax(logits).max()


def test_class_probability_map_is_the_identity_at_rest_and_keeps_the_class_order():
    rng = np.random.default_rng(1)
    probabilities = softmax(rng.normal(size=(500, 7)) * 2.0)
    assert rescale_class_probabilities(probabilities, 1.0, 0.0) == pytest.approx(probabilities, abs=1e-6)
    for slope, offset in ((0.3, 1.1), (1.8, -0.5)):
        mapped = rescale_class_probabilities(probabilities, slope, offset)
        assert mapped.sum(axis=1) == pytest.approx(np.ones(500), abs=1e-5)
        assert (np.argsort(mapped, axis=1) == np.argsort(probabilities, axis=1)).all()


def test_calibration_fit_beats_temperature_alone_where_one_temperature_cannot_fit():
    """Labels drawn from a tempered, class-mapped softmax: the three-parameter fit reaches the
    generating likelihood on fresh samples, temperature scaling alone does not."""
    rng = np.random.default_rng(2)
    truth = Calibration(temperature=0.3, slope=0.45, offset=1.5)

    def sample(count):
        logits = rng.normal(size=(count, 7)) * 1.5
        labels = np.array([rng.choice(7, p=p / p.sum()) for p in truth.probabilities(logits).astype(np.float64)])
        return logits, labels

    fit_logits, fit_labels = sample(6000)
    test_logits, test_labels = sample(6000)
    fitted = fit_calibration(fit_logits, fit_labels)
    temperature_only = Calibration(fit_temperature(fit_logits, fit_labels))
    best = truth.negative_log_likelihood(test_logits, test_labels)
    assert fitted.negative_log_likelihood(test_logits, test_labels) == pytest.approx(best, abs=0.005)
    assert temperature_only.negative_log_likelihood(test_logits, test_labels) > best + 0.005
    assert metrics.expected_calibration_error(test_labels, fitted.probabilities(test_logits)) < 0.02
    block = fitted.metadata_block(temperature_only.temperature)
    assert Calibration.from_metadata(block) == fitted
    assert block["temperature"] == temperature_only.temperature  # what software before the map reads
    assert Calibration.from_metadata({"temperature": 0.9}) == Calibration(0.9)  # a model fitted before the map
