"""Scenes rendered on demand into a cache outside the repository, keyed by what determines them.

A scene is an MJPEG video (the compression the scenario asks for) plus its per-frame truth as
JSON. The key covers the scenario, the generator version and the face data, so a changed script
or generator renders anew and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2

from edge.scenes.render import FaceBank, SceneRenderer
from edge.scenes.script import Scenario

log = logging.getLogger("lsi_edge.scenes")
GENERATOR_VERSION = 2  # bump when rendering changes in a way that changes pixels
CACHE_ENV_VAR = "LSI_EDGE_SCENE_CACHE"


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lsi-edge" / "scenes"


@dataclass(frozen=True)
class SceneVideo:
    scenario: Scenario
    video: Path
    truth: Path
    renderer: SceneRenderer


def scene_key(scenario: Scenario, bank: FaceBank, bank_digest: str) -> str:
    text = json.dumps({"scenario": scenario.model_dump(mode="json"), "generator": GENERATOR_VERSION,
                       "faces": bank_digest, "usable": bank.usable_digest}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def truth_record(renderer: SceneRenderer, index: int) -> dict:
    t = renderer.time_of(index)
    width, height = renderer.room.width, renderer.room.height
    faces = []
    for s in renderer.states(t):
        faces.append({"id": s.ident, "box": [round(v, 1) for v in s.box], "label": s.label,
                      "yaw": round(s.yaw, 1), "pitch": round(s.pitch, 1), "roll": round(s.roll, 1),
                      "occlusion": round(s.occlusion, 2), "readable": s.readable, "heads_up": s.heads_up,
                      "visible": s.visible, "in_frame": s.in_frame(width, height)})
    return {"frame": index, "t": round(t, 4), "faces": faces}


def render_scene(scenario: Scenario, bank: FaceBank, bank_digest: str, cache_dir: Path | None = None,
                 progress: Callable[[int, int], None] | None = None) -> SceneVideo:
    """The scene's video and truth, rendered now or found in the cache."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{scenario.name}-{scene_key(scenario, bank, bank_digest)}"
    video, truth = cache_dir / f"{stem}.avi", cache_dir / f"{stem}.truth.json"
    renderer = SceneRenderer(scenario, bank)
    if video.is_file() and truth.is_file():
        return SceneVideo(scenario, video, truth, renderer)
    room = scenario.room
    partial = video.with_suffix(".partial.avi")
    writer = cv2.VideoWriter(str(partial), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"), room.fps,
                             (room.width, room.height))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {partial}: OpenCV's MJPEG writer is unavailable")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, scenario.camera.video_quality)
    records = []
    total = renderer.frame_count
    log.info("rendering scene %s: %d frames of %dx%d into %s", scenario.name, total, room.width, room.height,
             cache_dir)
    try:
        for index in range(total):
            writer.write(renderer.render(index).image)
            records.append(truth_record(renderer, index))
            if progress is not None:
                progress(index + 1, total)
    finally:
        writer.release()
    truth.write_text(json.dumps({"scenario": scenario.name, "fps": room.fps, "width": room.width,
                                 "height": room.height, "frames": records}))
    partial.replace(video)
    return SceneVideo(scenario, video, truth, renderer)
