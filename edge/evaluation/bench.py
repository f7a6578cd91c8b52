"""`lsi-edge bench`: the whole pipeline on a source, as fast as it goes; figures as a dict."""

from __future__ import annotations

import os
import resource
import time

from edge.capture.capture import Capture
from edge.config import Config
from edge.inference import ExpressionClassifier
from edge.pipeline import Pipeline
from edge.sinks import CollectingSink


def bench_pipeline(cfg: Config, max_frames: int, fps: float | None = None) -> dict:
    """fps None: every source frame is processed (the processing rate is the source's own);
    otherwise the appliance's pacing in source time (e.g. processing.fps), frames between skipped."""
    classifier = ExpressionClassifier.load(cfg.classifier.model_path, cfg.classifier.threads)
    sink = CollectingSink()
    pipeline = Pipeline(cfg, classifier, [sink])
    capture = Capture(cfg.source, fps=fps or 60.0, realtime=False)  # as fast as it goes, either way
    cpu_before = time.process_time()
    stats = pipeline.run(capture, max_frames)
    cpu = time.process_time() - cpu_before
    frames = max(stats.frames, 1)
    stage_ms = stats.stage_ms_per_frame()
    return {
        "source": capture.source.description,
        "frames": stats.frames,
        "processing_fps": round(capture.frames_per_second, 2),
        "faces_per_frame": round(stats.faces_detected / frames, 2),
        "faces_classified_per_frame": round(stats.faces_classified / frames, 2),
        "frame_size": list(pipeline.frame_size) if pipeline.frame_size else None,
        "discovery_tiles": len(pipeline.schedule.plan) if pipeline.schedule else 0,
        "tiles_per_frame": round(stats.tiles_scanned / frames, 2),
        "discovery_tiles_skipped_unchanged": pipeline.schedule.discovery_skipped if pipeline.schedule else 0,
        "frames_per_detection_cycle": pipeline.schedule.cadence.frames_per_cycle if pipeline.schedule else 0,
        "updates_per_face_per_second_of_source": (round(pipeline.schedule.cadence.updates_per_second(
            capture.frames_per_second), 2) if pipeline.schedule else 0),
        "ms_per_frame": stage_ms,
        "classify_ms_per_face": round(stats.stage_seconds["classify"] * 1000.0 / max(stats.faces_classified, 1), 4),
        "end_to_end_fps": round(stats.frames / stats.wall_seconds, 2),
        "cpu_percent": round(100.0 * cpu / stats.wall_seconds, 1),
        "cpu_cores": os.cpu_count(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "confirmed_faces_mean": round(sum(w.faces for w in sink.windows) / len(sink.windows), 2) if sink.windows else 0.0,
        "windows": stats.windows,
        "frame_errors": stats.frame_errors,
        "runtime": classifier.runtime_info.runtime,
        "xnnpack": classifier.runtime_info.xnnpack,
        "classifier_threads": classifier.runtime_info.threads,
    }
