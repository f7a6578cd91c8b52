"""The shipped INT8 model on the full FER2013 PrivateTest, through ExpressionClassifier.predict."""

import numpy as np

from edge import metrics
from edge.inference import ExpressionClassifier

TARGET_ACCURACY = 0.70


def test_shipped_model_on_private_test(fer2013):
    classifier = ExpressionClassifier.load(threads=2)
    test = fer2013["test"]
    probabilities = np.concatenate([classifier.predict(test.images[i:i + 512])
                                    for i in range(0, len(test.images), 512)])
    predicted = probabilities.argmax(axis=1)
    accuracy = metrics.accuracy(test.labels, predicted)
    macro_f1 = metrics.macro_f1(test.labels, predicted, 7)
    ece = metrics.expected_calibration_error(test.labels, probabilities, 15)
    print(f"PrivateTest: accuracy {accuracy:.4f}, macro-F1 {macro_f1:.4f}, ECE {ece:.4f}")
    assert len(test.images) == 3589
    assert accuracy >= TARGET_ACCURACY, f"accuracy {accuracy:.4f} below {TARGET_ACCURACY}"
    assert ece <= 0.05
