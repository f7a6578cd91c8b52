"""`lsi-edge doctor`: what an IT admin checks first. Each check says what is wrong and how to fix it."""

from __future__ import annotations

import importlib.metadata as md
import platform
from dataclasses import dataclass
from typing import Callable

from edge.config import Config


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    critical: bool = True


def _opencv() -> Check:
    builds = sorted(d.metadata["Name"] for d in md.distributions()
                    if (d.metadata["Name"] or "").lower().startswith("opencv"))
    if builds == ["opencv-python-headless"]:
        return Check("one headless OpenCV", True, f"opencv-python-headless {md.version('opencv-python-headless')}")
    return Check("one headless OpenCV", False, f"found {builds or 'none'}: run scripts/setup.sh again")


def _classifier(cfg: Config) -> Check:
    from edge.datasets import sha256_of
    from edge.inference import ExpressionClassifier

    classifier = ExpressionClassifier.load(cfg.classifier.model, cfg.classifier.threads)
    info = classifier.runtime_info
    recorded = classifier.metadata.raw.get("sha256")
    intact = recorded is None or recorded == sha256_of(classifier.model_path)
    detail = (f"{classifier.model_path.name} via {info.runtime}, {info.threads} thread(s), "
              f"XNNPACK {'yes' if info.xnnpack else 'NO'}, checksum {'ok' if intact else 'MISMATCH'}")
    return Check("expression model", info.xnnpack and intact, detail)


def _detector(cfg: Config) -> Check:
    import numpy as np

    from edge.detect.detector import FaceDetector

    detector = FaceDetector(cfg.detection, cfg.privacy)
    detector.detect(np.zeros((240, 320, 3), np.uint8))
    detector.close()
    return Check("MediaPipe full-range face detector", True, f"mediapipe {md.version('mediapipe')}, model in wheel")


def _source(cfg: Config) -> Check:
    from edge.capture.capture import Capture

    capture = Capture(cfg.source, cfg.processing.fps, realtime=False)
    if capture.live:
        source = capture.source
        source.open()
        frame = source.read()
        source.close()
    else:
        frame = next(iter(capture.frames()), None)
    if frame is None:
        return Check("source", False, f"{capture.source.description}: opened but gave no frame")
    return Check("source", True, f"{capture.source.description}: {frame.image.shape[1]}x{frame.image.shape[0]}")


def _database(cfg: Config) -> Check:
    from edge.storage.store import Store

    store = Store(cfg.storage.url, cfg.device_id)
    depth = store.outbox_depth()
    store.close()
    return Check("database", True, f"schema current, {depth} message(s) waiting in the outbox")


def _broker(cfg: Config) -> Check:
    from edge.broker import broker_listening

    ok = broker_listening(cfg.mqtt.host, cfg.mqtt.port, timeout=2.0)
    return Check("MQTT broker", ok, f"{cfg.mqtt.host}:{cfg.mqtt.port} "
                 + ("reachable" if ok else "not reachable (windows wait in the outbox until it is)"), critical=False)


def run_checks(cfg: Config) -> list[Check]:
    checks: list[Check] = [Check("python", True, f"{platform.python_version()} on {platform.machine()}")]
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("one headless OpenCV", _opencv), ("expression model", lambda: _classifier(cfg)),
        ("MediaPipe full-range face detector", lambda: _detector(cfg)), ("source", lambda: _source(cfg)),
        ("database", lambda: _database(cfg)), ("MQTT broker", lambda: _broker(cfg))]
    for name, step in steps:
        try:
            checks.append(step())
        except Exception as error:  # a failing check is a finding, not a crash
            checks.append(Check(name, False, f"{type(error).__name__}: {error}"))
    return checks
