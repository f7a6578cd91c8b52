"""Per-face latency of the expression model, measured the way the appliance calls it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from edge.inference.classifier import ExpressionClassifier


def classifier_latency(model_path: Path | None = None, batches: tuple[int, ...] = (1, 16),
                       threads: tuple[int, ...] = (1, 2), seconds: float = 2.0) -> list[dict]:
    """For each (threads, batch): median and p90 ms per interpreter call, ms per face (median and fastest call)."""
    results = []
    rng = np.random.default_rng(0)
    for thread_count in threads:
        classifier = ExpressionClassifier.load(model_path, threads=thread_count)
        size = classifier.input_size
        for batch in batches:
            pixels = rng.integers(0, 256, (batch, size, size, 1), dtype=np.uint8)
            for _ in range(5):
                classifier.run_prepared(pixels)
            timings = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or len(timings) < 20:
                started = time.perf_counter()
                classifier.run_prepared(pixels)
                timings.append((time.perf_counter() - started) * 1000.0)
            call_ms = float(np.median(timings))
            results.append({
                "threads": thread_count, "batch": batch, "calls": len(timings),
                "ms_per_call_median": round(call_ms, 4),
                "ms_per_call_p90": round(float(np.percentile(timings, 90)), 4),
                "ms_per_face": round(call_ms / batch, 4),
                # The fastest call: close to the uncontended cost on a machine shared with other work,
                # so two models measured in the same run compare fairly even under load.
                "ms_per_face_fastest": round(float(np.min(timings)) / batch, 4),
                "runtime": classifier.runtime_info.runtime,
                "xnnpack": classifier.runtime_info.xnnpack,
            })
    return results
