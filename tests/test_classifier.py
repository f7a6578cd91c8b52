"""The shipped expression model through its public API."""

import json

import numpy as np
import pytest

from edge.calibration import Calibration
from edge.inference import ExpressionClassifier
from edge.inference.classifier import DEFAULT_MODEL

FER_CLASSES = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}


@pytest.fixture(scope="module")
def classifier():
    if not DEFAULT_MODEL.is_file():
        pytest.fail(f"the shipped model {DEFAULT_MODEL} is missing from the repository")
    return ExpressionClassifier.load(threads=1)


def test_labels_and_metadata(classifier):
    assert set(classifier.labels) == FER_CLASSES and len(classifier.labels) == 7
    metadata = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert metadata["labels"] == list(classifier.labels)
    assert Calibration.from_metadata(metadata["calibration"]) == classifier.calibration
    assert DEFAULT_MODEL.stat().st_size <= 4_000_000


def test_predict_accepts_grey_and_bgr_crops_of_any_size_in_one_batch(classifier):
    rng = np.random.default_rng(0)
    faces = [rng.integers(0, 256, (48, 48), dtype=np.uint8),
             rng.integers(0, 256, (131, 97, 3), dtype=np.uint8),
             rng.integers(0, 256, (20, 20), dtype=np.uint8)]
    probabilities = classifier.predict(faces)
    assert probabilities.shape == (3, 7) and probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities >= 0).all()
    # Batching does not change a face's result.
    assert np.allclose(classifier.predict(faces[:1]), probabilities[:1], atol=1e-6)


def test_empty_batch(classifier):
    assert classifier.predict([]).shape == (0, 7)


def test_int8_graph_is_delegated_to_xnnpack_under_ai_edge_litert(classifier):
    pytest.importorskip("ai_edge_litert", reason="the XNNPACK check is about ai_edge_litert")
    info = classifier.runtime_info
    assert info.runtime == "ai_edge_litert"
    assert info.xnnpack and info.delegated_partitions == 1  # the whole graph, one partition


def test_delegate_detection_is_not_vacuous():
    """Without the default delegates there is no DELEGATE node, so the check above means something."""
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=str(DEFAULT_MODEL),
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    assert not any(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())


def test_missing_model_fails_with_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="lsi-edge train"):
        ExpressionClassifier.load(tmp_path / "nope.tflite")
