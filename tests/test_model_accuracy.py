"""The INT8 models on the full FER2013 PrivateTest, through ExpressionClassifier.predict, as is and
under the classroom degradation protocol (issue #14's gates, defined in edge.evaluation.card)."""

import json

import numpy as np
import pytest

from edge import metrics
from edge.evaluation.card import DEGRADED_TARGETS, MIN_RECALL, TARGET_ACCURACY, TARGET_ECE, TARGET_MACRO_F1
from edge.evaluation.degrade import MONITOR, by_name, degrade_all
from edge.inference import ExpressionClassifier
from edge.inference.classifier import DEFAULT_MODEL
from edge.paths import MODELS_DIR

# Trained for small, compressed faces (GPU run, see docs/model-card.md); not shipped: it misses the
# full-resolution gates by about a point.
CLASSROOM_CANDIDATE = MODELS_DIR / "expression_int8_classroom.tflite"


def _recorded(model):
    return json.loads(model.with_suffix(".json").read_text()).get("metrics", {})


def _figures(classifier, faces, labels) -> dict:
    probabilities = np.concatenate([classifier.predict(faces[i:i + 512]) for i in range(0, len(faces), 512)])
    predicted = probabilities.argmax(axis=1)
    _, recall, _ = metrics.per_class_prf(metrics.confusion_matrix(labels, predicted, 7))
    return {"n": len(faces), "accuracy": metrics.accuracy(labels, predicted),
            "macro_f1": metrics.macro_f1(labels, predicted, 7), "min_recall": float(recall.min()),
            "ece": metrics.expected_calibration_error(labels, probabilities, 15)}


@pytest.fixture(scope="module")
def classifiers():
    return {"shipped": ExpressionClassifier.load(threads=2),
            "candidate": ExpressionClassifier.load(CLASSROOM_CANDIDATE, threads=2)}


@pytest.fixture(scope="module")
def private_test(fer2013, classifiers):
    test = fer2013["test"]
    figures = {name: _figures(classifier, test.images, test.labels) for name, classifier in classifiers.items()}
    print(f"PrivateTest through predict(): {figures}")
    return figures


@pytest.mark.parametrize("name, model", [("shipped", DEFAULT_MODEL), ("candidate", CLASSROOM_CANDIDATE)])
def test_models_reproduce_their_recorded_figures(private_test, name, model):
    recorded = _recorded(model)
    assert private_test[name]["n"] == 3589
    assert private_test[name]["accuracy"] == pytest.approx(recorded["accuracy"], abs=0.002)
    assert private_test[name]["macro_f1"] == pytest.approx(recorded["macro_f1"], abs=0.003)


def test_shipped_model_reaches_the_full_resolution_targets(private_test):
    shipped = private_test["shipped"]
    assert shipped["accuracy"] >= TARGET_ACCURACY, f"accuracy {shipped['accuracy']:.4f} < {TARGET_ACCURACY}"
    assert shipped["macro_f1"] >= TARGET_MACRO_F1
    assert shipped["ece"] <= TARGET_ECE


def _assert_reads_degraded(fer2013, classifier, condition):
    test = fer2013["test"]
    figures = _figures(classifier, degrade_all(test.images, by_name(condition)), test.labels)
    print(f"PrivateTest at {condition}: {figures}")
    assert figures["accuracy"] >= DEGRADED_TARGETS[condition], f"{condition}: {figures['accuracy']:.4f}"
    if condition == MONITOR.name:
        assert figures["min_recall"] >= MIN_RECALL


@pytest.mark.parametrize("condition", sorted(DEGRADED_TARGETS))
def test_classroom_candidate_reads_small_compressed_faces(fer2013, classifiers, condition):
    _assert_reads_degraded(fer2013, classifiers["candidate"], condition)


@pytest.mark.xfail(strict=True, reason="issue #14: the shipped model reads small, compressed faces at about half "
                                       "the accuracy it reaches at full resolution; the classroom candidate meets "
                                       "these gates but not the full-resolution ones (docs/model-card.md)")
@pytest.mark.parametrize("condition", sorted(DEGRADED_TARGETS))
def test_shipped_model_reads_small_compressed_faces(fer2013, classifiers, condition):
    _assert_reads_degraded(fer2013, classifiers["shipped"], condition)
