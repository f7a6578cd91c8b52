"""The appliance's data path: capture → detect → track → classify → smooth → index → sinks.

Frames, crops and per-track state live only in this process's memory; sinks receive aggregates.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import cv2
import numpy as np

from edge.capture.capture import Capture
from edge.config import Config
from edge.datasets import FER2013_LABELS
from edge.detect.blazeface import SHORT_RANGE
from edge.detect.detector import FaceDetector
from edge.detect.schedule import DetectionSchedule
from edge.detect.tiling import iou, merge_detections
from edge.inference.align import aligned_crop
from edge.inference.classifier import ExpressionClassifier
from edge.lsi.quantify import ConfusionModel
from edge.lsi.segments import AlertMonitor, SegmentTracker
from edge.lsi.stage import IndexStage
from edge.lsi.windows import WindowAggregate
from edge.readability.gate import Readability, ReadabilityGate
from edge.sinks import Sink
from edge.smoothing.smoother import TrackDescriptors
from edge.survey import ROLLING_SECONDS as PLACEMENT_SECONDS
from edge.survey import PlacementAccumulator
from edge.tracking.scene import frame_signature, signature_distance
from edge.tracking.tracker import FaceTracker
from edge.types import Detection, FaceReading, Frame, KnownFace, TrackUpdate
from lsi_contract.labels import SEGMENT_KINDS
from lsi_contract.scale import lsi_bands

log = logging.getLogger("lsi_edge.pipeline")
STAGES = ("capture", "detect", "track", "preprocess", "classify", "smooth_index")
# Called after every tracker update with the merged detections, the update and the smoothed
# track states: the scenario evaluation compares them with the truth. In-process only.
UpdateObserver = Callable[[list[Detection], TrackUpdate, dict[str, TrackDescriptors]], None]


MIN_FRAME_SIDE = 64  # smaller frames come from a faulty source, not a camera


class UnusableFrame(ValueError):
    """A frame no stage can use (e.g. a few pixels from a broken stream); counted, skipped."""


@dataclass
class RunStats:
    frames: int = 0
    faces_detected: int = 0
    faces_classified: int = 0
    tiles_scanned: int = 0
    tracker_updates: int = 0
    windows: int = 0
    scene_cuts: int = 0
    frame_errors: int = 0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    wall_seconds: float = 0.0

    def stage_ms_per_frame(self) -> dict[str, float]:
        return {k: round(v * 1000.0 / max(self.frames, 1), 3) for k, v in self.stage_seconds.items()}


class Pipeline:
    frame_done: Callable[[], None] | None = None  # called after every frame: health and the watchdog

    def __init__(self, cfg: Config, classifier: ExpressionClassifier | None, sinks: list[Sink],
                 detector: FaceDetector | None = None, observer: UpdateObserver | None = None):
        """classifier None: attention mode (analysis.mode: attention), no expression model at all."""
        self.cfg, self.classifier, self.sinks = cfg, classifier, sinks
        self.detector = detector or FaceDetector(cfg.detection, cfg.privacy)
        metadata = classifier.metadata.raw if classifier is not None else {}
        self.gate = ReadabilityGate.for_model(cfg.readability, cfg.classifier.crop_margin, metadata)
        # the camera-placement figures of the last minutes, for the health message (edge/survey.py)
        self.placement = PlacementAccumulator(self.gate, PLACEMENT_SECONDS)
        self.confusion = ConfusionModel.from_metadata(metadata.get("confusion"))
        self.labels = classifier.labels if classifier is not None else FER2013_LABELS
        self.observer = observer
        self.index: IndexStage | None = None
        self.segments = SegmentTracker()
        self.alerts = AlertMonitor(cfg.alerts, lsi_bands(cfg.lsi.weights, self.labels))
        self.stats = RunStats()
        self.tracker: FaceTracker | None = None
        self.schedule: DetectionSchedule | None = None
        self._carried: list[KnownFace] = []  # known faces the current cycle does not look for
        # the current detection cycle's faces: detection, readability, aligned crop (readable faces only)
        self._cycle: list[tuple[Detection, Readability, np.ndarray | None]] = []
        self._signature: np.ndarray | None = None
        self._last_index: int | None = None  # the previous frame's position in its source
        self._last_timestamp = 0.0
        self._lock = threading.Lock()  # segment commands arrive from other threads
        self._pending_segment: tuple[str, str] | None = None
        self._stop = threading.Event()
        self.capture: Capture | None = None
        self._error_kinds: set[str] = set()
        self.frame_size: tuple[int, int] | None = None

    # -- commands (thread-safe) ----------------------------------------------------------------
    def start_segment(self, kind: str, label: str = "") -> None:
        """Takes effect at the next processed frame, in source time."""
        if kind not in SEGMENT_KINDS:
            raise ValueError(f"segment kind {kind!r} unknown; use one of {', '.join(SEGMENT_KINDS)}")
        with self._lock:
            self._pending_segment = (kind, label)

    def stop(self) -> None:
        self._stop.set()
        if self.capture is not None:
            self.capture.stop()

    # -- the loop ------------------------------------------------------------------------------
    def run(self, capture: Capture, max_frames: int | None = None) -> RunStats:
        self.capture = capture
        epoch_offset = 0.0 if capture.live else time.time()
        self.index = IndexStage(self.cfg.smoothing, self.cfg.lsi, self.cfg.privacy, self.labels, self.confusion,
                                self.classifier is not None, epoch_offset)
        started = time.perf_counter()
        frames = capture.frames()
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                frame = next(frames, None)
                self.stats.stage_seconds["capture"] += time.perf_counter() - t0
                if frame is None:
                    break
                self._apply_pending_segment(frame.timestamp)
                try:
                    self.process(frame)
                except UnusableFrame as error:  # expected of a faulty source: a line, not a traceback
                    self.stats.frame_errors += 1
                    if "unusable" not in self._error_kinds:
                        self._error_kinds.add("unusable")
                        log.warning("frame %d skipped: %s; further unusable frames are only counted", frame.index,
                                    error)
                except Exception as error:  # one bad frame must not stop the appliance
                    self.stats.frame_errors += 1
                    kind = type(error).__name__
                    if kind not in self._error_kinds:
                        self._error_kinds.add(kind)
                        log.exception("frame %d failed (%s); further errors of this kind are only counted",
                                      frame.index, kind)
                if self.frame_done is not None:
                    self.frame_done()
                if max_frames and self.stats.frames >= max_frames:
                    break
        finally:
            frames.close()
            self._finish()
            self.stats.wall_seconds = time.perf_counter() - started
        return self.stats

    def _apply_pending_segment(self, timestamp: float) -> None:
        with self._lock:
            pending, self._pending_segment = self._pending_segment, None
        if pending is None:
            return
        epoch = timestamp + self.index.aggregator.epoch_offset
        ended = self.segments.start(pending[0], pending[1], epoch)
        if ended is not None:
            self._emit_segment(ended)
        self.index.aggregator.segment = self.segments.info
        self.alerts.reset(epoch)
        log.info("segment started: %s %r", pending[0], pending[1])

    def process(self, frame: Frame) -> list[WindowAggregate]:
        """One frame through every stage; returns the windows it closed."""
        times = self.stats.stage_seconds
        self.stats.frames += 1
        height, width = frame.image.shape[:2]
        if min(height, width) < MIN_FRAME_SIDE:
            raise UnusableFrame(f"{width}×{height} px is too small to find faces in (at least {MIN_FRAME_SIDE} px "
                                "a side); a camera or stream fault")
        if self.tracker is None:
            self._start_tracking(frame)

        t0 = time.perf_counter()
        # A source that starts again (a looping file, a camera reconnected) jumps in time: a cut too.
        restarted = self._last_index is not None and frame.index <= self._last_index
        self._last_index = frame.index
        if self._scene_cut(frame.image) or restarted:
            self.stats.scene_cuts += 1
            self.tracker.reset()
            self.index.end_tracks(self.tracker.ended)
            self._cycle.clear()
            self.schedule.restart()
            self.placement.reset()
        tiles, cycle_complete = self.schedule.next_frame(frame.image, self._faces_to_detect)
        detections = self.detector.scan(frame.image, tiles)
        t1 = time.perf_counter()
        times["detect"] += t1 - t0
        self.stats.tiles_scanned += len(tiles)
        self.stats.faces_detected += len(detections)

        # the cycle's last frame also reads the known faces it did not look for
        faces = detections + self._carried_detections(detections) if cycle_complete else detections
        if faces:
            grey = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY) if self.classifier is not None else None
            for face in faces:
                assessment = self.gate.assess(face)
                crop = (aligned_crop(grey, face, self.classifier.input_size, self.cfg.classifier.crop_margin,
                                     self.cfg.classifier.illumination, self.cfg.classifier.align,
                                     self.cfg.classifier.crop_offset)
                        if grey is not None and assessment.readable else None)
                if crop is not None:
                    assessment = self.gate.assess_crop(assessment, crop)
                    crop = crop if assessment.readable else None
                self._cycle.append((face, assessment, crop))
            times["preprocess"] += time.perf_counter() - t1
        if not cycle_complete:
            return []

        # One tracker update per cycle; each face seen in it is classified once, all in one batch.
        t4 = time.perf_counter()
        by_detection = {id(d): (a, c) for d, a, c in self._cycle}
        merged = merge_detections([d for d, _, _ in self._cycle], self.cfg.detection.nms_iou)
        self._cycle = []
        self.placement.add(frame.timestamp, frame.image, merged, [by_detection[id(d)][0] for d in merged])
        tracked = self.tracker.update(merged)
        self.stats.tracker_updates += 1
        t5 = time.perf_counter()
        times["track"] += t5 - t4
        to_read = [face for face in tracked if by_detection[id(face.detection)][1] is not None]
        probabilities = {}
        if to_read:
            crops = [by_detection[id(face.detection)][1] for face in to_read]
            probabilities = dict(zip((id(face.detection) for face in to_read), self.classifier.predict(crops)))
            self.stats.faces_classified += len(crops)
        times["classify"] += time.perf_counter() - t5
        crop_scale = 1.0 + 2.0 * self.cfg.classifier.crop_margin
        readings = []
        for face in tracked:
            assessment = by_detection[id(face.detection)][0]
            readings.append(FaceReading(face.track_id, face.detection.box, probabilities.get(id(face.detection)),
                                        assessment.heads_up, face.detection.size * crop_scale))
        update = TrackUpdate(frame.timestamp, tuple(readings), tuple(self.tracker.ended), self.tracker.present)
        t6 = time.perf_counter()

        closed, states = self.index.update(update)
        if self.observer is not None:
            self.observer(merged, update, states)
        self._last_timestamp = frame.timestamp
        self._emit_windows(closed)
        times["smooth_index"] += time.perf_counter() - t6
        return closed

    def _faces_to_detect(self) -> list[tuple[float, float, float, float]]:
        """At the start of a cycle: which known faces get a tile of their own. A confirmed face the
        detector found last time is looked for every detection.redetect_every cycles (its turn set
        by its key, so the work is spread evenly); the others are carried at the cycle's end."""
        every = self.cfg.detection.redetect_every
        cycle = self.stats.tracker_updates
        known = self.tracker.known()
        self._carried = [face for face in known if face.confirmed and face.fresh and (face.key + cycle) % every]
        carried = {face.key for face in self._carried}
        return [face.box for face in known if face.key not in carried]

    def _carried_detections(self, detections: list[Detection]) -> list[Detection]:
        """At the end of a cycle: the faces not looked for in it keep their last detection, unless
        a discovery tile found them anyway."""
        found = [d.box for d, _, _ in self._cycle] + [d.box for d in detections]
        carried = [replace(face.last, carried=True) for face in self._carried
                   if not any(iou(face.last.box, box) > self.cfg.detection.nms_iou for box in found)]
        self._carried = []
        return carried

    def _start_tracking(self, frame: Frame) -> None:
        """On the first frame: the discovery plan for its size, the detection cadence for the
        source's rate, and a tracker updated once per detection cycle."""
        height, width = frame.image.shape[:2]
        self.frame_size = (width, height)
        fps = self.capture.frames_per_second if self.capture is not None else self.cfg.processing.fps
        plan = self.detector.discovery_plan(width, height)
        self.schedule = DetectionSchedule(self.cfg.detection, fps, plan, SHORT_RANGE.input_size)
        self.tracker = FaceTracker(self.cfg.tracking, self.schedule.cadence.updates_per_second(fps))

    def _scene_cut(self, image: np.ndarray) -> bool:
        signature = frame_signature(image)
        previous, self._signature = self._signature, signature
        return previous is not None and signature_distance(previous, signature) > self.cfg.tracking.scene_cut_threshold

    def _emit_windows(self, windows: list[WindowAggregate]) -> None:
        for window in windows:
            self.stats.windows += 1
            self.segments.add(window)
            for sink in self.sinks:
                sink.window(window)
            for alert in self.alerts.check(window):
                for sink in self.sinks:
                    sink.alert(alert)

    def _emit_segment(self, summary) -> None:
        for sink in self.sinks:
            sink.segment(summary)

    def _finish(self) -> None:
        if self.index is None:
            return
        last = self.index.flush()
        if last is not None:
            self._emit_windows([last])
        ended = self.segments.end(self._last_timestamp + self.index.aggregator.epoch_offset)
        if ended is not None:
            self._emit_segment(ended)
