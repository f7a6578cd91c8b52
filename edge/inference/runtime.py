"""TFLite interpreter loading: ai_edge_litert first, tflite_runtime as the fallback."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lsi_edge.inference")


@dataclass(frozen=True)
class RuntimeInfo:
    runtime: str  # "ai_edge_litert" or "tflite_runtime"
    threads: int
    xnnpack: bool  # XNNPACK took (part of) the graph: a DELEGATE node exists after allocation
    delegated_partitions: int


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter, "ai_edge_litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter, "tflite_runtime"
    except ImportError as error:
        raise ImportError("no TFLite runtime found: pip install ai-edge-litert "
                          "(or tflite-runtime on platforms without it)") from error


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def load_interpreter(model_path: Path, threads: int | None = None):
    """An allocated interpreter and what it runs on; XNNPACK is the runtime's default delegate."""
    interpreter_class, runtime = _interpreter_class()
    threads = threads or default_threads()
    interpreter = interpreter_class(model_path=str(model_path), num_threads=threads)
    interpreter.allocate_tensors()
    partitions = sum(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())  # noqa: SLF001
    info = RuntimeInfo(runtime=runtime, threads=threads, xnnpack=partitions > 0,
                       delegated_partitions=partitions)
    if info.xnnpack:
        log.info("loaded %s with %s, %d thread(s), XNNPACK delegate: %d partition(s)",
                 model_path.name, runtime, threads, partitions)
    else:
        log.warning("loaded %s with %s, %d thread(s), XNNPACK did NOT take the graph: expect "
                    "~10x slower inference (install ai-edge-litert)", model_path.name, runtime, threads)
    return interpreter, info
