"""`lsi-edge run --print` end to end, as a user runs it (a real subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.paths import REPO_ROOT

REQUIRED = {"window_start", "window_end", "faces", "lsi", "emotions", "suppressed"}


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600):
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or REPO_ROOT, env={**os.environ, **(env or {})})


def windows_of(result) -> list[dict]:
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_demo_emits_windows_with_faces_and_an_index():
    windows = windows_of(run_cli("run", "--source", "demo:1280x720:8:16", "--print", "--no-realtime"))
    assert len(windows) >= 3
    for window in windows:
        assert REQUIRED <= window.keys()
        assert window["window_end"] - window["window_start"] == pytest.approx(5.0)
    full = [w for w in windows if not w["suppressed"]]
    assert full, windows
    for window in full:
        assert window["faces"] >= 5 and 0 <= window["lsi"] <= 100
        assert sum(window["emotions"].values()) == pytest.approx(1.0, abs=1e-3)


def _video(shared: Path, name: str) -> Path:
    path = shared / "videos" / name
    if not path.is_file():
        pytest.skip(f"{path} not found (set LSI_EDGE_SHARED to the shared folder)")
    return path


def test_lecture_hall_video(shared):
    windows = windows_of(run_cli("run", "--source", str(_video(shared, "lecture_hall_front.mp4")),
                                 "--print", "--no-realtime"))
    assert windows and windows[0]["faces"] >= 5 and windows[0]["lsi"] is not None


def test_stage_and_audience_scene_cuts_end_tracks(shared):
    result = run_cli("run", "--source", str(_video(shared, "stage_and_audience.mp4")), "--print",
                     "--no-realtime")
    windows = windows_of(result)
    assert len(windows) == 2 and all(w["faces"] > 0 for w in windows)
    cuts = [line for line in result.stderr.splitlines() if "scene cuts" in line][-1]
    assert int(cuts.split(" scene cuts")[0].rsplit(" ", 1)[-1]) >= 2, cuts


def test_bad_config_fails_fast_naming_the_key(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("tracking:\n  confirm_hitz: 3\n")
    result = run_cli("run", "--config", str(config), "--print")
    assert result.returncode == 2 and "tracking.confirm_hitz" in result.stderr


def test_bad_source_fails_fast():
    result = run_cli("run", "--source", "/no/such/camera.mp4", "--print")
    assert result.returncode == 2 and "source.uri" in result.stderr
