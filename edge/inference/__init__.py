"""Expression inference on the edge: TFLite runtime, preprocessing, the classifier."""

from edge.inference.classifier import ExpressionClassifier, ModelMetadata
from edge.inference.runtime import RuntimeInfo

__all__ = ["ExpressionClassifier", "ModelMetadata", "RuntimeInfo"]
