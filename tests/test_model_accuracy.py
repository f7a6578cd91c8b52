"""The shipped INT8 model on the full FER2013 PrivateTest, through ExpressionClassifier.predict."""

import json

import numpy as np
import pytest

from edge import metrics
from edge.inference import ExpressionClassifier
from edge.inference.classifier import DEFAULT_MODEL

TARGET_ACCURACY = 0.70
RECORDED = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text()).get("metrics", {})


@pytest.fixture(scope="module")
def private_test(fer2013):
    classifier = ExpressionClassifier.load(threads=2)
    test = fer2013["test"]
    probabilities = np.concatenate([classifier.predict(test.images[i:i + 512])
                                    for i in range(0, len(test.images), 512)])
    predicted = probabilities.argmax(axis=1)
    figures = {"n": len(test.images), "accuracy": metrics.accuracy(test.labels, predicted),
               "macro_f1": metrics.macro_f1(test.labels, predicted, 7),
               "ece": metrics.expected_calibration_error(test.labels, probabilities, 15)}
    print(f"PrivateTest through predict(): {figures}")
    return figures


def test_shipped_model_reproduces_its_recorded_figures_and_is_calibrated(private_test):
    assert private_test["n"] == 3589
    assert private_test["accuracy"] == pytest.approx(RECORDED["accuracy"], abs=0.002)
    assert private_test["macro_f1"] == pytest.approx(RECORDED["macro_f1"], abs=0.003)
    assert private_test["ece"] <= 0.05


def test_shipped_model_reaches_the_target_accuracy(private_test):
    assert private_test["accuracy"] >= TARGET_ACCURACY, f"accuracy {private_test['accuracy']:.4f} < {TARGET_ACCURACY}"
