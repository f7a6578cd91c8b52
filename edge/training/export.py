"""Keras model → TFLite: FP32 reference and full-integer INT8 for the appliance."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf


def export_tflite(model: tf.keras.Model, path: Path, representative: np.ndarray | None = None) -> Path:
    """Write FP32 TFLite, or full-integer INT8 when representative images are given.

    INT8: uint8 raw pixels in (the calibrated input range is 0–255, so scale 1, zero point 0),
    int8 logits out; the caller dequantises and applies the calibration.
    """
    with tempfile.TemporaryDirectory() as saved_model:
        # Keras 3 → SavedModel → TFLite is the conversion path that freezes the variables.
        model.export(saved_model, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        return _convert(converter, path, representative)


def _convert(converter, path: Path, representative: np.ndarray | None) -> Path:
    if representative is not None:
        def samples():
            for image in representative:
                yield [image[None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.int8
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converter.convert())
    return path
