"""Frame sources: cameras, streams, video files, image folders and the synthetic demo.

A source only opens and reads; pacing, reconnection and stall detection live in Capture.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Protocol

import cv2

from edge.capture.demo import LESSON_SECONDS, DemoScene
from edge.config import SourceConfig
from edge.types import Frame

log = logging.getLogger("lsi_edge.capture")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


class SourceError(RuntimeError):
    """A source could not be opened or read."""


class FrameSource(Protocol):
    live: bool  # frames arrive in real time (camera, stream) and may fail and come back
    description: str

    def open(self) -> None: ...

    def read(self) -> Frame | None:
        """The next frame; None at the end (files) or on a read failure (live)."""

    def close(self) -> None: ...


class RecordedSource(FrameSource, Protocol):
    """Files, folders, demo: frames at known source times, which pacing may skip undecoded."""

    fps: float

    def next_timestamp(self) -> float: ...

    def skip(self) -> bool: ...


class OpenCVSource:
    """Camera index, V4L2 device, network stream or video file through OpenCV (FFmpeg/V4L2)."""

    def __init__(self, target: int | str, live: bool, cfg: SourceConfig, clock):
        self.target, self.live, self.cfg, self.clock = target, live, cfg, clock
        self.description = f"camera {target}" if isinstance(target, int) else _redact(str(target))
        self._capture: cv2.VideoCapture | None = None
        self._index = 0
        self.fps = 0.0

    def open(self) -> None:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.cfg.stall_seconds * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.cfg.stall_seconds * 1000)] if self.live else []
        capture = cv2.VideoCapture(self.target, cv2.CAP_ANY, params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open {self.description}")
        if self.live and self.cfg.width and self.cfg.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.cfg.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.cfg.height)
        if self.live:
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep latency low: we want the newest frame
        self.fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        if not self.live and not 1.0 <= self.fps <= 240.0:
            log.warning("%s reports %.2f fps; assuming 25", self.description, self.fps)
            self.fps = 25.0
        self._capture, self._index = capture, 0

    def read(self) -> Frame | None:
        if self._capture is None:
            return None
        ok, image = self._capture.read()
        if not ok or image is None:
            return None
        # Files: video time from the frame index (container timestamps can be missing or jump).
        timestamp = self.clock() if self.live else self._index / self.fps
        frame = Frame(image=image, timestamp=timestamp, index=self._index)
        self._index += 1
        return frame

    def next_timestamp(self) -> float:
        return self._index / self.fps

    def skip(self) -> bool:
        """Advance one frame without decoding it into an image."""
        if self._capture is None or not self._capture.grab():
            return False
        self._index += 1
        return True

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageFolderSource:
    live = False

    def __init__(self, folder: Path, cfg: SourceConfig):
        self.folder, self.cfg = folder, cfg
        self.description = f"image folder {folder}"
        self._files: list[Path] = []
        self._next = 0
        self.fps = cfg.folder_fps

    def open(self) -> None:
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"{self.folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self._next = 0

    def read(self) -> Frame | None:
        while self._next < len(self._files):
            index = self._next
            self._next += 1
            image = cv2.imread(str(self._files[index]), cv2.IMREAD_COLOR)
            if image is not None:
                return Frame(image=image, timestamp=index / self.fps, index=index)
            log.warning("skipping unreadable image %s", self._files[index].name)
        return None

    def next_timestamp(self) -> float:
        return self._next / self.fps

    def skip(self) -> bool:
        self._next += 1
        return self._next <= len(self._files)

    def close(self) -> None:
        self._files = []


class DemoSource:
    """The synthetic classroom, at its nominal frame rate, in source (not wall) time."""

    live = False

    def __init__(self, scene: DemoScene):
        self.scene = scene
        self.description = f"demo classroom ({len(scene.students)} students, {scene.width}x{scene.height})"
        self.fps = scene.fps
        self._index = 0

    def open(self) -> None:
        self._index = 0

    def read(self) -> Frame | None:
        t = self._index / self.fps
        if t >= self.scene.seconds:
            return None
        image, _ = self.scene.render(t)
        frame = Frame(image=image, timestamp=t, index=self._index)
        self._index += 1
        return frame

    def next_timestamp(self) -> float:
        return self._index / self.fps

    def skip(self) -> bool:
        self._index += 1
        return self._index / self.fps < self.scene.seconds

    def close(self) -> None:
        pass


def _redact(uri: str) -> str:
    """Never log stream credentials."""
    return re.sub(r"//[^/@]+@", "//***@", uri)


def parse_demo(uri: str) -> DemoScene:
    """'demo' or 'demo:WIDTHxHEIGHT:FACES[:SECONDS]'; by default one whole scripted lesson."""
    parts = uri.split(":")[1:]
    width, height, faces, seconds = 1280, 720, 16, LESSON_SECONDS
    try:
        if parts and parts[0]:
            width, height = (int(v) for v in parts[0].lower().split("x"))
        if len(parts) > 1:
            faces = int(parts[1])
        if len(parts) > 2:
            seconds = float(parts[2])
    except ValueError as error:
        raise SourceError(f"bad demo source {uri!r}: use demo or demo:1280x720:16[:{LESSON_SECONDS:g}]") from error
    return DemoScene(width=width, height=height, faces=faces, seconds=seconds)


def create_source(cfg: SourceConfig, clock) -> FrameSource:
    """The source the URI names; raises SourceError with a fix when it names nothing usable."""
    uri = cfg.uri.strip()
    if uri == "demo" or uri.startswith("demo:"):
        return DemoSource(parse_demo(uri))
    if uri.isdigit():
        return OpenCVSource(int(uri), live=True, cfg=cfg, clock=clock)
    if re.match(r"^(rtsp|rtsps|rtmp|http|https|udp|tcp)://", uri, re.IGNORECASE):
        return OpenCVSource(uri, live=True, cfg=cfg, clock=clock)
    path = Path(uri).expanduser()
    if str(path).startswith("/dev/video"):
        return OpenCVSource(str(path), live=True, cfg=cfg, clock=clock)
    if path.is_dir():
        return ImageFolderSource(path, cfg)
    if path.is_file():
        return OpenCVSource(str(path), live=False, cfg=cfg, clock=clock)
    raise SourceError(f"source.uri {uri!r} is not a camera index, /dev/video device, stream URL, "
                      f"existing video file or image folder, nor 'demo'")
