"""`lsi-edge run --print` end to end, as a user runs it (a real subprocess, hermetic: its home,
data directory, temporary files and working directory are the test's folder; MQTT is off unless
a test brings its own broker)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.paths import REPO_ROOT

REQUIRED = {"window_start", "window_end", "faces", "lsi", "emotions", "suppressed"}
OUTSIDE_STATE = ("STATE_DIRECTORY", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "NOTIFY_SOCKET", "MPLCONFIGDIR")


def hermetic_env(tmp_path: Path, **extra: str) -> dict:
    """The environment of a subprocess that must write nothing outside tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in OUTSIDE_STATE}
    return {**env, "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "LSI_EDGE_DATA_DIR": str(tmp_path / "data"),
            "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run_cli(tmp_path: Path, *args: str, env: dict | None = None, audited: Path | None = None, timeout: int = 600):
    """`lsi-edge ARGS` in tmp_path; without --config, one with MQTT off and the health server on any
    free port (no fixed port is touched).
    audited: trace the files the process writes into this JSON file (tests/audited_cli.py)."""
    if "--config" not in args and args[0] in ("run", "up", "doctor"):
        config = tmp_path / "no-mqtt.yaml"
        config.write_text("mqtt:\n  enabled: false\nhealth:\n  port: 0\n")
        args = (args[0], "--config", str(config), *args[1:])
    runner = ["-m", "tests.audited_cli", str(audited)] if audited else ["-m", "edge.cli"]
    return subprocess.run([sys.executable, *runner, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=tmp_path, env=hermetic_env(tmp_path, **(env or {})))


def windows_of(result) -> list[dict]:
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_demo_emits_windows_with_faces_and_an_index(tmp_path):
    result = run_cli(tmp_path, "run", "--source", "demo:1280x720:8:16", "--print", "--no-realtime")
    windows = windows_of(result)
    assert len(windows) >= 3
    for window in windows:
        assert REQUIRED <= window.keys()
        assert window["window_end"] - window["window_start"] == pytest.approx(5.0)
    full = [w for w in windows if not w["suppressed"]]
    assert full, windows
    for window in full:
        assert window["faces"] >= 5 and 0 <= window["lsi"] <= 100
        assert sum(window["emotions"].values()) == pytest.approx(1.0, abs=1e-3)
    # State goes to the data directory, never the working directory; libraries stay quiet.
    assert (tmp_path / "data" / "lsi-edge.db").is_file() and not list(tmp_path.glob("*.db"))
    assert "alembic" not in result.stderr and " INFO matplotlib" not in result.stderr


def _video(shared: Path, name: str) -> Path:
    path = shared / "videos" / name
    if not path.is_file():
        pytest.skip(f"{path} not found (set LSI_EDGE_SHARED to the shared folder)")
    return path


def test_lecture_hall_video(tmp_path, shared):
    windows = windows_of(run_cli(tmp_path, "run", "--source", str(_video(shared, "lecture_hall_front.mp4")),
                                 "--print", "--no-realtime"))
    assert windows and windows[0]["faces"] >= 5
    # presence and attention always; the expression part only with enough readable faces
    assert windows[0]["faces_read"] is not None and 0 <= windows[0]["attention"] <= 1
    assert (windows[0]["lsi"] is None) == (windows[0]["faces_read"] < 5)


def test_stage_and_audience_scene_cuts_end_tracks(tmp_path, shared):
    result = run_cli(tmp_path, "run", "--source", str(_video(shared, "stage_and_audience.mp4")), "--print",
                     "--no-realtime")
    windows = windows_of(result)
    assert len(windows) == 2 and all(w["faces"] > 0 for w in windows)
    cuts = [line for line in result.stderr.splitlines() if "scene cuts" in line][-1]
    assert int(cuts.split(" scene cuts")[0].rsplit(" ", 1)[-1]) >= 2, cuts


def test_bad_config_fails_fast_naming_the_key(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("tracking:\n  confirm_hitz: 3\n")
    result = run_cli(tmp_path, "run", "--config", str(config), "--print")
    assert result.returncode == 2 and "tracking.confirm_hitz" in result.stderr


def test_bad_source_fails_fast(tmp_path):
    result = run_cli(tmp_path, "run", "--source", "/no/such/camera.mp4", "--print")
    assert result.returncode == 2 and "source.uri" in result.stderr


@pytest.mark.parametrize("args, key", [
    (("bench", "--updates-per-second", "0"), "detection.updates_per_second"),
    (("run", "--device-id", "room 101!", "--print"), "device_id"),
])
def test_command_line_overrides_are_validated_like_the_yaml(tmp_path, args, key):
    result = run_cli(tmp_path, *args)
    assert result.returncode == 2 and key in result.stderr, result.stderr[-2000:]


def test_loop_device_id_and_json_logs(tmp_path):
    """--loop replays a 3-second file source; --device-id names the windows; --log-json: one
    JSON object per log line."""
    result = run_cli(tmp_path, "run", "--source", "demo:640x360:6:3", "--loop", "--max-frames", "300",
                     "--device-id", "room-7", "--print", "--no-realtime", "--log-json")
    windows = windows_of(result)
    assert len(windows) >= 2  # 300 frames at 8 fps: 37.5 s of a 3-s source (and over a second of work: ready)
    from edge.storage.store import Store
    assert len(Store(f"sqlite:///{tmp_path / 'data' / 'lsi-edge.db'}", "room-7").windows()) == len(windows)
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert logged and all({"time", "level", "logger", "message"} <= entry.keys() for entry in logged)
    assert any("room-7" in entry["message"] for entry in logged)
    assert sum(entry["message"].startswith("ready:") for entry in logged) == 1  # events, not a heartbeat
    # each restart of the source is a cut in time: no track carries over it
    done = next(entry["message"] for entry in logged if entry["message"].startswith("done:"))
    assert int(done.split(" scene cuts")[0].rsplit(" ", 1)[-1]) >= 4, done
