"""The expression classifier: face crops in, calibrated class probabilities out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from edge.calibration import Calibration
from edge.inference.preprocess import prepare_batch
from edge.inference.runtime import RuntimeInfo, load_interpreter
from edge.paths import MODELS_DIR

DEFAULT_MODEL = MODELS_DIR / "expression_int8.tflite"


@dataclass(frozen=True)
class ModelMetadata:
    labels: tuple[str, ...]
    input_size: int
    calibration: Calibration
    flip_average: bool  # average the logits of each face and its mirror image (one interpreter call)
    raw: dict

    @classmethod
    def read(cls, model_path: Path) -> "ModelMetadata":
        path = model_path.with_suffix(".json")
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: every model needs its metadata JSON beside it")
        raw = json.loads(path.read_text())
        return cls(labels=tuple(raw["labels"]), input_size=int(raw["input"]["size"]),
                   calibration=Calibration.from_metadata(raw["calibration"]),
                   flip_average=bool(raw.get("inference", {}).get("flip_average", False)), raw=raw)


def edit_metadata(model_path: Path, edit: Callable[[dict], None]) -> None:
    """Read the model's metadata JSON, let edit change it in place, write it back."""
    path = model_path.with_suffix(".json")
    metadata = json.loads(path.read_text())
    edit(metadata)
    path.write_text(json.dumps(metadata, indent=2) + "\n")


class ExpressionClassifier:
    """INT8 (or FP32) TFLite expression model. One interpreter call per batch of faces."""

    def __init__(self, model_path: Path, metadata: ModelMetadata, threads: int | None = None):
        self.model_path = model_path
        self.metadata = metadata
        self._interpreter, self.runtime = load_interpreter(model_path, threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._batch = int(self._input["shape"][0])

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int | None = None) -> "ExpressionClassifier":
        model_path = Path(path) if path else DEFAULT_MODEL
        if not model_path.is_file():
            raise FileNotFoundError(f"expression model {model_path} not found (train one with "
                                    f"`lsi-edge train`, or pass the path of a .tflite model)")
        return cls(model_path, ModelMetadata.read(model_path), threads)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.metadata.labels

    @property
    def input_size(self) -> int:
        return self.metadata.input_size

    @property
    def calibration(self) -> Calibration:
        return self.metadata.calibration

    @property
    def runtime_info(self) -> RuntimeInfo:
        return self.runtime

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            size = self.input_size
            self._interpreter.resize_tensor_input(self._input["index"], [batch, size, size, 1])
            self._interpreter.allocate_tensors()
            self._batch = batch

    def run_prepared(self, pixels: np.ndarray) -> np.ndarray:
        """(N, S, S, 1) uint8 model input → (N, C) float32 logits, in one interpreter call."""
        if len(pixels) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        if self.metadata.flip_average:
            count = len(pixels)
            both = self._invoke(np.concatenate([pixels, pixels[:, :, ::-1]]))
            return (both[:count] + both[count:]) / 2.0
        return self._invoke(pixels)

    def _invoke(self, pixels: np.ndarray) -> np.ndarray:
        self._resize(len(pixels))
        if self._input["dtype"] == np.uint8:
            scale, zero_point = self._input["quantization"]
            data = pixels if (scale, zero_point) == (1.0, 0) else np.clip(
                np.round(pixels / scale + zero_point), 0, 255).astype(np.uint8)
        else:
            data = pixels.astype(np.float32)
        self._interpreter.set_tensor(self._input["index"], data)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._output["index"])
        if self._output["dtype"] == np.float32:
            return raw.astype(np.float32)
        scale, zero_point = self._output["quantization"]
        return ((raw.astype(np.float32) - zero_point) * scale).astype(np.float32)

    def logits(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Uncalibrated logits, (N, C) float32."""
        return self.run_prepared(prepare_batch(faces, self.input_size))

    def predict(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """uint8 crops (H×W grey or H×W×3 BGR, any size) → (N, C) float32 calibrated probabilities."""
        return self.calibration.probabilities(self.logits(faces))
