"""Capture: paces a source to the processing rate and keeps live sources alive.

Live sources (cameras, streams) are read by a grabber thread into a one-frame slot, so the
pipeline always gets the newest frame and nothing queues up. A failed read or a stall ends the
connection; it is reopened with exponential backoff. Recorded sources (files, folders, demo) are
read in the caller's thread; frames between processing ticks are skipped without decoding.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from edge.capture.sources import FrameSource, RecordedSource, SourceError, create_source
from edge.config import SourceConfig
from edge.types import Frame

log = logging.getLogger("lsi_edge.capture")


@dataclass
class CaptureStatus:
    state: str = "starting"  # starting | up | down | ended
    description: str = ""
    reconnects: int = 0
    frames_read: int = 0
    frames_skipped: int = 0
    last_error: str | None = None


def backoff_delays(initial: float, maximum: float) -> Iterator[float]:
    """initial, 2·initial, 4·initial, … capped at maximum."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * 2.0, maximum)


class Capture:
    def __init__(self, cfg: SourceConfig, fps: float, realtime: bool,
                 source_factory: Callable[[], FrameSource] | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self.cfg, self.interval, self.realtime = cfg, 1.0 / fps, realtime
        self._clock, self._wall = clock, wall
        self._factory = source_factory or (lambda: create_source(cfg, wall))
        self.source = self._factory()
        self.status = CaptureStatus(description=self.source.description)
        self._stop = threading.Event()
        self._slot: Frame | None = None
        self._slot_lock = threading.Condition()
        self._grabber: threading.Thread | None = None

    @property
    def live(self) -> bool:
        return self.source.live

    @property
    def frames_per_second(self) -> float:
        """Processed frames per second of source time: the processing rate, or the source's if lower."""
        source_fps = getattr(self.source, "fps", 0.0) or 0.0
        rate = 1.0 / self.interval
        return min(rate, source_fps) if source_fps > 0 else rate

    def stop(self) -> None:
        self._stop.set()
        with self._slot_lock:
            self._slot_lock.notify_all()

    def frames(self) -> Iterator[Frame]:
        try:
            yield from (self._live_frames() if self.source.live else self._recorded_frames())
        finally:
            self.stop()
            if self._grabber is not None:
                self._grabber.join(timeout=self.cfg.stall_seconds + 1.0)
            self.source.close()

    # -- recorded sources ----------------------------------------------------------------------
    def _recorded_frames(self) -> Iterator[Frame]:
        source: RecordedSource = self.source  # type: ignore[assignment]  # not live: files, folders, demo
        try:
            source.open()
        except SourceError as error:
            self.status.state, self.status.last_error = "ended", str(error)
            raise
        self.status.state = "up"
        offset, last_timestamp = 0.0, 0.0
        next_due = float("-inf")
        started_wall, started_ts = None, None
        while not self._stop.is_set():
            timestamp = source.next_timestamp() + offset
            if timestamp + 1e-6 < next_due:
                if source.skip():
                    self.status.frames_skipped += 1
                    continue
                frame = None
            else:
                frame = source.read()
            if frame is None:
                if not self.cfg.loop:
                    self.status.state = "ended"
                    return
                offset = last_timestamp + 1.0 / source.fps
                source.close()
                source.open()
                continue
            self.status.frames_read += 1
            timestamp = frame.timestamp + offset
            last_timestamp = timestamp
            next_due = max(next_due + self.interval, timestamp) if next_due > float("-inf") else timestamp + self.interval
            if self.realtime:
                if started_wall is None:
                    started_wall, started_ts = self._clock(), timestamp
                delay = (timestamp - started_ts) - (self._clock() - started_wall)
                if delay > 0 and self._stop.wait(delay):
                    return
            yield Frame(frame.image, timestamp, frame.index)

    # -- live sources --------------------------------------------------------------------------
    def _grab(self) -> None:
        delays = backoff_delays(self.cfg.reconnect_initial_seconds, self.cfg.reconnect_max_seconds)
        connected = False
        while not self._stop.is_set():
            if not connected:
                try:
                    self.source.open()
                    connected = True
                    delays = backoff_delays(self.cfg.reconnect_initial_seconds, self.cfg.reconnect_max_seconds)
                    log.info("%s connected", self.source.description)
                except SourceError as error:
                    self._mark_down(str(error))
                    self._stop.wait(next(delays))
                    continue
            frame = self.source.read()
            if frame is None:
                self.source.close()
                connected = False
                self._mark_down("read failed")
                self._stop.wait(next(delays))
                continue
            with self._slot_lock:
                self._slot = frame
                self.status.frames_read += 1
                self._slot_lock.notify_all()
        self.source.close()

    def _mark_down(self, reason: str) -> None:
        if self.status.state != "down":
            log.warning("%s is down (%s); reconnecting with backoff", self.source.description, reason)
            if self.status.state == "up":
                self.status.reconnects += 1
        self.status.state, self.status.last_error = "down", reason

    def _live_frames(self) -> Iterator[Frame]:
        self._grabber = threading.Thread(target=self._grab, name="capture-grabber", daemon=True)
        self._grabber.start()
        last_yielded = -1.0
        next_tick = self._clock()
        last_fresh = self._clock()
        while not self._stop.is_set():
            with self._slot_lock:
                self._slot_lock.wait_for(lambda: self._stop.is_set() or (
                    self._slot is not None and self._slot.timestamp > last_yielded), timeout=0.25)
                frame = self._slot
            if self._stop.is_set():
                return
            now = self._clock()
            if frame is None or frame.timestamp <= last_yielded:
                if now - last_fresh > self.cfg.stall_seconds and self.status.state == "up":
                    self._mark_down(f"no frame for {self.cfg.stall_seconds:g} s")
                continue
            last_fresh = now
            if self.status.state != "up":
                if self.status.state == "down":
                    log.info("%s is back", self.source.description)
                self.status.state = "up"
            if now < next_tick:
                self._stop.wait(next_tick - now)
                continue  # take whatever is newest after the wait
            next_tick = max(next_tick + self.interval, now)
            last_yielded = frame.timestamp
            yield frame
