import threading
import time

import cv2
import numpy as np
import pytest

from edge.capture.capture import Capture, backoff_delays
from edge.capture.sources import SourceError, create_source
from edge.config import SourceConfig
from tests.mjpeg_server import MjpegServer, free_port


def _timestamps(uri: str, fps: float, realtime: bool, **kw) -> list[float]:
    capture = Capture(SourceConfig(uri=uri, **kw), fps, realtime)
    return [round(f.timestamp, 4) for f in capture.frames()]


def test_pacing_uses_source_time_the_same_with_and_without_realtime():
    fast = _timestamps("demo:320x240:3:1.5", 5.0, realtime=False)
    started = time.monotonic()
    paced = _timestamps("demo:320x240:3:1.5", 5.0, realtime=True)
    elapsed = time.monotonic() - started
    assert fast == paced
    assert fast == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4], abs=0.05)
    assert elapsed >= 1.2  # realtime waited for video time


def test_end_of_file_ends_and_loop_continues():
    capture = Capture(SourceConfig(uri="demo:320x240:2:1"), 5.0, realtime=False)
    assert len(list(capture.frames())) == 5 and capture.status.state == "ended"
    looping = Capture(SourceConfig(uri="demo:320x240:2:1", loop=True), 5.0, realtime=False)
    frames = []
    for frame in looping.frames():
        frames.append(frame.timestamp)
        if len(frames) == 12:
            break
    assert np.all(np.diff(frames) > 0) and frames[-1] > 2.0


def test_video_file_frames_are_skipped_undecoded_to_the_processing_rate(shared):
    video = shared / "videos" / "lecture_hall_front.mp4"
    if not video.is_file():
        pytest.skip(f"{video} not found (set LSI_EDGE_SHARED)")
    capture = Capture(SourceConfig(uri=str(video)), 8.0, realtime=False)
    stamps = [f.timestamp for f in capture.frames()]
    assert 38 <= len(stamps) <= 42  # 5 s at 8 fps
    assert min(np.diff(stamps)) >= 0.125 - 1 / 29.9
    assert capture.status.frames_skipped > 100


def test_image_folder(tmp_path):
    for k in range(4):
        cv2.imwrite(str(tmp_path / f"{k:03d}.png"), np.full((60, 80, 3), k * 50, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    capture = Capture(SourceConfig(uri=str(tmp_path), folder_fps=2.0), 10.0, realtime=False)
    frames = list(capture.frames())
    assert [f.timestamp for f in frames] == [0.0, 0.5, 1.0, 1.5]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 50, 100, 150]


def test_bad_source_names_the_setting():
    with pytest.raises(SourceError, match="source.uri"):
        create_source(SourceConfig(uri="/nonexistent/video.mp4"), time.time)
    with pytest.raises(SourceError, match="demo"):
        create_source(SourceConfig(uri="demo:bogus"), time.time)


def test_backoff_doubles_up_to_the_cap():
    delays = backoff_delays(0.5, 3.0)
    assert [next(delays) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_live_stream_that_fails_and_comes_back_is_reconnected():
    server = MjpegServer(free_port())
    server.start()
    cfg = SourceConfig(uri=server.url, stall_seconds=1.0, reconnect_initial_seconds=0.2,
                       reconnect_max_seconds=0.8)
    capture = Capture(cfg, fps=10.0, realtime=True)
    got: list[float] = []
    states: list[str] = []

    def consume():
        for frame in capture.frames():
            got.append(frame.timestamp)
            states.append(capture.status.state)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        _wait_for(lambda: len(got) >= 5, 15)
        server.stop()
        _wait_for(lambda: capture.status.state == "down", 15)
        during_outage = len(got)
        time.sleep(1.5)
        server.start()
        _wait_for(lambda: len(got) >= during_outage + 5, 20)
        assert capture.status.state == "up"
        assert capture.status.reconnects >= 1
        assert np.all(np.diff(got) > 0)  # only ever newer frames
    finally:
        capture.stop()
        consumer.join(timeout=10)
        server.stop()


def _wait_for(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)
