"""Names both sides agree on: the expression classes in the model's output order, the teaching
segment kinds, the analysis modes."""

from __future__ import annotations

# FER2013's label order, which is also every expression model's output order.
EXPRESSION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
SEGMENT_KINDS: tuple[str, ...] = ("lecture", "exercise", "discussion", "quiz", "break", "custom")
ANALYSIS_MODES: tuple[str, ...] = ("expression", "attention")
