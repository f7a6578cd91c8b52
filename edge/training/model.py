"""MobileNetV2 expression classifier with ImageNet initialisation from the shared weights file.

Plain Keras 3, so the same model trains on any backend (TensorFlow here, JAX or PyTorch on a
GPU machine) and its weights load back under TensorFlow for the TFLite export.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

IMAGENET_WEIGHTS = "weights/mobilenet_v2_1.0_224_imagenet_no_top.npz"
BACKBONE_NAME = "backbone"


def _load_imagenet(backbone: keras.Model, weights_file: Path) -> int:
    """Copy the ImageNet weights into a 1-channel backbone; returns the number of layers set.

    The first convolution is summed over its RGB input channels: for a grey image repeated on
    three channels this gives exactly the same output, at a third of the input cost.
    """
    stored = np.load(weights_file)
    loaded = 0
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            keys = [f"{layer.name}/{k}" for k in ("gamma", "beta", "moving_mean", "moving_variance")]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            keys = [f"{layer.name}/depthwise_kernel"]
        elif isinstance(layer, keras.layers.Conv2D):
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
                num_classes: int = 7, bn_momentum: float = 0.999) -> keras.Model:
    """Raw uint8-range grey pixels in (N, S, S, 1), logits out. Normalisation is in the graph."""
    inputs = keras.Input((input_size, input_size, 1), name="pixels")
    scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(inputs)
    backbone = keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 1), alpha=alpha, include_top=False, weights=None,
        name=BACKBONE_NAME)
    if shared is not None and alpha == 1.0:
        weights_file = shared / IMAGENET_WEIGHTS
        if not weights_file.is_file():
            raise FileNotFoundError(f"{weights_file} not found: ImageNet initialisation needs it "
                                    f"(or pass --no-pretrained)")
        _load_imagenet(backbone, weights_file)
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    features = backbone(scaled)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    pooled = keras.layers.Dropout(dropout, name="dropout")(pooled)
    logits = keras.layers.Dense(num_classes, name="logits")(pooled)
    return keras.Model(inputs, logits, name=f"mobilenetv2_a{alpha:g}_{input_size}")


def set_trainable(model: keras.Model, fine_tune_from: str | None) -> None:
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


def save_model_weights(model: keras.Model, path: Path) -> Path:
    """The model's variables alone (no optimizer state) as .npz: a third of a Keras weights file
    of a compiled model, the same on every backend."""
    arrays = {f"w{index:03d}": keras.ops.convert_to_numpy(variable) for index, variable in enumerate(model.weights)}
    names = np.array([variable.path for variable in model.weights])
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, names=names, **arrays)
    tmp.replace(path)  # never a half-written checkpoint
    return path


def load_model_weights(model: keras.Model, path: Path) -> None:
    stored = np.load(path)
    names = [str(name) for name in stored["names"]]
    if names != [variable.path for variable in model.weights]:
        raise ValueError(f"{path} holds weights of another architecture")
    for index, variable in enumerate(model.weights):
        variable.assign(stored[f"w{index:03d}"])
