"""MobileNetV2 expression classifier with ImageNet initialisation from the shared weights file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

IMAGENET_WEIGHTS = "weights/mobilenet_v2_1.0_224_imagenet_no_top.npz"
BACKBONE_NAME = "backbone"


def _load_imagenet(backbone: tf.keras.Model, weights_file: Path) -> int:
    """Copy the ImageNet weights into a 1-channel backbone; returns the number of layers set.

    The first convolution is summed over its RGB input channels: for a grey image repeated on
    three channels this gives exactly the same output, at a third of the input cost.
    """
    stored = np.load(weights_file)
    loaded = 0
    for layer in backbone.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            keys = [f"{layer.name}/{k}" for k in ("gamma", "beta", "moving_mean", "moving_variance")]
        elif isinstance(layer, tf.keras.layers.DepthwiseConv2D):
            keys = [f"{layer.name}/depthwise_kernel"]
        elif isinstance(layer, tf.keras.layers.Conv2D):
            keys = [f"{layer.name}/kernel"]
        else:
            continue
        values = [stored[key] for key in keys]
        if layer.name == "Conv1":
            values[0] = values[0].sum(axis=2, keepdims=True)
        layer.set_weights(values)
        loaded += 1
    return loaded


def build_model(input_size: int, alpha: float, dropout: float, shared: Path | None,
                num_classes: int = 7, bn_momentum: float = 0.999) -> tf.keras.Model:
    """Raw uint8-range grey pixels in (N, S, S, 1), logits out. Normalisation is in the graph."""
    inputs = tf.keras.Input((input_size, input_size, 1), name="pixels")
    scaled = tf.keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    backbone = tf.keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 1), alpha=alpha, include_top=False, weights=None,
        name=BACKBONE_NAME)
    if shared is not None and alpha == 1.0:
        weights_file = shared / IMAGENET_WEIGHTS
        if not weights_file.is_file():
            raise FileNotFoundError(f"{weights_file} not found: ImageNet initialisation needs it "
                                    f"(or pass --no-pretrained)")
        _load_imagenet(backbone, weights_file)
    for layer in backbone.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    features = backbone(scaled)
    pooled = tf.keras.layers.GlobalAveragePooling2D(name="pool")(features)
    pooled = tf.keras.layers.Dropout(dropout, name="dropout")(pooled)
    logits = tf.keras.layers.Dense(num_classes, name="logits")(pooled)
    return tf.keras.Model(inputs, logits, name=f"mobilenetv2_a{alpha:g}_{input_size}")


def set_trainable(model: tf.keras.Model, fine_tune_from: str | None) -> None:
    """Freeze the backbone (None) or unfreeze it from the named layer (e.g. 'block_6_expand') on."""
    backbone = model.get_layer(BACKBONE_NAME)
    backbone.trainable = fine_tune_from is not None
    if fine_tune_from is None:
        return
    names = [layer.name for layer in backbone.layers]
    if fine_tune_from not in names:
        raise ValueError(f"fine_tune_from={fine_tune_from!r} is not a backbone layer")
    start = names.index(fine_tune_from)
    for index, layer in enumerate(backbone.layers):
        layer.trainable = index >= start
