"""A source that misbehaves does not stop the appliance: unreadable, zero-size and tiny frames, a
resolution change in the middle of a stream, a video file cut off in the middle."""

import re

import cv2
import numpy as np

from edge.capture.capture import Capture
from edge.config import SourceConfig
from tests.test_run_cli import run_cli, windows_of


def _demo_frames(width: int, height: int, count: int) -> list[np.ndarray]:
    capture = Capture(SourceConfig(uri=f"demo:{width}x{height}:6:60"), 8.0, realtime=False)
    frames = []
    for frame in capture.frames():
        frames.append(frame.image)
        if len(frames) == count:
            break
    return frames


def _frames_done(result) -> int:
    """Frames processed, from the run's last line ("done: N frames, …")."""
    return int(re.search(r"done: (\d+) frames", result.stderr).group(1))


def test_unreadable_zero_size_tiny_and_resized_frames_do_not_stop_the_run(tmp_path, reliability):
    folder = tmp_path / "frames"
    folder.mkdir()
    index = 0
    for image in _demo_frames(640, 360, 30):
        cv2.imwrite(str(folder / f"{index:04d}.jpg"), image)
        index += 1
    (folder / f"{index:04d}.jpg").write_bytes(b"")  # zero-size
    (folder / f"{index + 1:04d}.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 10)  # corrupt
    cv2.imwrite(str(folder / f"{index + 2:04d}.png"), np.zeros((4, 4, 3), np.uint8))  # tiny
    index += 3
    for image in _demo_frames(1280, 720, 30):  # the camera switches resolution
        cv2.imwrite(str(folder / f"{index:04d}.jpg"), image)
        index += 1
    result = run_cli(tmp_path, "run", "--source", str(folder), "--print", "--no-realtime")
    windows = windows_of(result)  # exit 0
    assert len(windows) >= 2 and any(w["faces"] > 0 for w in windows[-2:])  # faces found after the switch
    assert "skipping unreadable image" in result.stderr and "too small to find faces in" in result.stderr
    assert "Traceback" not in result.stderr
    reliability.record("unreadable, zero-size and 4×4 frames, then the resolution switching from 640×360 to "
                       "1280×720, in one image sequence", "the run goes on: unreadable frames are skipped (logged), "
                       "the new resolution is read like the old", f"exit 0, {len(windows)} windows, faces in the "
                       f"last windows after the switch ({windows[-1]['faces']:g})")


def test_a_video_file_cut_off_in_the_middle_ends_cleanly(tmp_path, reliability):
    video = tmp_path / "lesson.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 8.0, (640, 360))
    for image in _demo_frames(640, 360, 120):
        writer.write(image)
    writer.release()
    whole = video.stat().st_size
    with open(video, "r+b") as handle:
        handle.truncate(int(whole * 0.6))  # a copy that stopped, a card pulled out
    result = run_cli(tmp_path, "run", "--source", str(video), "--print", "--no-realtime")
    windows = windows_of(result)  # exit 0
    assert windows and "Traceback" not in result.stderr
    frames = _frames_done(result)
    assert 0 < frames < 120
    reliability.record("a video file cut off at 60 % of its bytes", "the frames there are processed, the run ends "
                       "cleanly at the cut (exit 0)", f"exit 0, {frames} of 120 frames processed, {len(windows)} "
                       "windows")
