"""`lsi-edge doctor`: what an IT admin checks first. Each check says what is wrong and how to fix
it, and none changes anything (no migration, no file created)."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

from edge.config import Config
from edge.paths import data_dir
from lsi_contract.credentials import token_file

PLACEMENT_SURVEY_SECONDS = 3.0  # of source time: enough frames for the verdict, short enough for a check


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
    if cfg.analysis.mode == "attention":
        return Check("expression model", True, "not used: analysis.mode is attention (presence and attention only)")
    from edge.datasets import sha256_of
    from edge.inference import ExpressionClassifier

    classifier = ExpressionClassifier.load(cfg.classifier.model_path, cfg.classifier.threads)
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
    detector.sweep(np.zeros((480, 640, 3), np.uint8))  # loads both BlazeFace models
    detector.close()
    return Check("BlazeFace face detectors", True, f"short- and full-range models from mediapipe {md.version('mediapipe')}")


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
    from edge.storage.store import schema_status, sqlite_file

    status = schema_status(cfg.storage.url)
    if status == "absent":
        folder = next(p for p in (sqlite_file(cfg.storage.url).parent, *sqlite_file(cfg.storage.url).parents)
                      if p.exists())
        writable = os.access(folder, os.W_OK)
        return Check("database", writable, f"{sqlite_file(cfg.storage.url)} does not exist yet; the first run creates "
                     "it" + ("" if writable else f", but {folder} is not writable for this user: fix the owner "
                                                  "or set storage.url"))
    if status == "current":
        return Check("database", True, "schema current")
    return Check("database", True, f"schema at {status}: the next start migrates it", critical=False)


def _broker(cfg: Config) -> Check:
    from edge.broker import broker_listening

    if not cfg.mqtt.enabled:
        return Check("MQTT broker", True, "mqtt.enabled is false: nothing is published", critical=False)
    ok = broker_listening(cfg.mqtt.host, cfg.mqtt.port, timeout=2.0)
    return Check("MQTT broker", ok, f"{cfg.mqtt.host}:{cfg.mqtt.port} " + (
        "reachable" if ok else "not reachable: start the broker (systemctl start mosquitto; scripts/setup.sh "
                               "installs it) or correct mqtt.host / mqtt.port; until then windows wait in the outbox"))


def _disk(cfg: Config) -> Check:
    from edge.storage.store import sqlite_file

    path = sqlite_file(cfg.storage.url) or data_dir()
    existing = next(p for p in (path, *path.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    detail = f"{free / 1e9:.1f} GB free at {existing}"
    if free < 100e6:
        return Check("disk", False, detail + ": too little for the database; free space or lower storage.retention_days")
    if free < 1e9:
        return Check("disk", False, detail + ": under 1 GB; free space soon", critical=False)
    return Check("disk", True, detail)


def _clock() -> Check:
    """Windows carry wall-clock times: a box without a real-time clock boots in 1970 until NTP."""
    now = time.time()
    if now < 1704067200:  # 2024-01-01
        return Check("clock", False, f"system time {time.ctime(now)} is wrong: enable time sync (timedatectl "
                                     "set-ntp true) or set the date")
    synced = None
    if shutil.which("timedatectl"):
        result = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                                text=True, timeout=5)
        synced = result.stdout.strip() == "yes" if result.returncode == 0 else None
    if synced is False:
        return Check("clock", False, f"{time.ctime(now)}, not synchronised: timedatectl set-ntp true", critical=False)
    return Check("clock", True, time.ctime(now) + (", synchronised" if synced else ""))


def _placement(cfg: Config, checks: list[Check]) -> Check:
    """The placement survey of `lsi-edge survey`, shorter; a poor placement is a warning, not a failure."""
    from edge.survey import survey

    if not next(c for c in checks if c.name == "source").ok:
        return Check("camera placement", False, "not surveyed: the source gave no frame", critical=False)
    result = survey(cfg, PLACEMENT_SURVEY_SECONDS)
    verdict = result.verdict
    detail = f"{result.figures.faces_per_frame:.1f} faces per frame: {verdict.summary}"
    return Check("camera placement", verdict.good, detail + ("" if verdict.good else " (details: lsi-edge survey)"),
                 critical=False)


def _command_token(cfg: Config) -> Check:
    path = token_file(cfg.mqtt.command_token_file)
    if not path.exists():
        return Check("command token", True, f"{path} is made on the first start (`lsi-edge token` prints it)")
    if path.stat().st_mode & 0o077:
        return Check("command token", False, f"{path} is readable by others: chmod 600 {path}", critical=False)
    return Check("command token", True, f"{path}, readable by its owner only (`lsi-edge token` prints it)")


def run_checks(cfg: Config) -> list[Check]:
    checks: list[Check] = [Check("python", True, f"{platform.python_version()} on {platform.machine()}")]
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("one headless OpenCV", _opencv), ("expression model", lambda: _classifier(cfg)),
        ("BlazeFace face detectors", lambda: _detector(cfg)), ("source", lambda: _source(cfg)),
        ("camera placement", lambda: _placement(cfg, checks)), ("database", lambda: _database(cfg)),
        ("MQTT broker", lambda: _broker(cfg)), ("command token", lambda: _command_token(cfg)),
        ("disk", lambda: _disk(cfg)), ("clock", _clock)]
    # MediaPipe imports matplotlib, which caches its font list under $HOME: looking must leave nothing.
    with tempfile.TemporaryDirectory(prefix="lsi-doctor-") as scratch:
        previous = os.environ.get("MPLCONFIGDIR")
        os.environ["MPLCONFIGDIR"] = scratch
        try:
            for name, step in steps:
                try:
                    checks.append(step())
                except Exception as error:  # a failing check is a finding, not a crash
                    checks.append(Check(name, False, f"{type(error).__name__}: {error}"))
        finally:
            if previous is None:
                os.environ.pop("MPLCONFIGDIR")
            else:
                os.environ["MPLCONFIGDIR"] = previous
    return checks
