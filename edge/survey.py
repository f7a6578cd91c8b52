"""Camera placement survey: what the detector sees of the class, and what to change.

`lsi-edge survey` and `lsi-edge doctor` look at a few seconds of the source with the product's
detector and readability gate and measure the faces found: how many, how large, how turned or
bent (head pose from the keypoints), how many the gate would read, and how bright they are
against the frame. `placement_verdict` turns those figures into findings with their fixes; it is
a pure function, so the running appliance can judge the same figures kept over a rolling window
(`PlacementAccumulator`) and say why a room shows nothing. Frames are measured in memory only.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from edge.config import Config, SourceConfig
from edge.readability.gate import Readability, ReadabilityGate
from edge.types import Detection

SURVEY_SECONDS = 10.0  # default survey length, seconds of source time
ROLLING_SECONDS = 120.0  # the running appliance judges its placement over the last two minutes

# Size bands (face side in pixels): under 24 px the detector misses many faces and the model reads
# under half of those it finds right; from 40 px up it is near its best (its accuracy against crop
# size, crops being 1.2 face sides, is measured in models/expression_int8.json).
SMALL_FACE_PX = 24.0
LARGE_FACE_PX = 40.0
CLIPPED_GREY = 250  # a pixel this bright (0–255) has lost its detail: a window, a lamp, the sky

# Verdict thresholds: shares of the faces found (or of the frame's pixels).
MIN_FACES_PER_FRAME = 0.5  # fewer on average, and nothing else wrong with those found: no faces in view
MIN_FACES_TO_JUDGE = 10  # fewer in the whole survey: too few to judge their size, pose or brightness
TOO_SMALL_SHARE = 0.5  # of faces under SMALL_FACE_PX, or under the size the model reads well
FROM_ABOVE_SHARE = 0.5  # of faces looking down further than readability.min_pitch
FROM_SIDE_SHARE = 0.5  # of faces turned further than readability.max_yaw
# Back-light: a bright window in view makes the camera expose for it, so faces come out much
# darker than the frame as a whole while part of the frame is blown out. Both must hold: a dark
# face against a light wall alone is not back-light.
BACKLIT_FACE_TO_FRAME = 0.6  # faces' mean grey / the frame's mean grey below this
BACKLIT_CLIPPED_SHARE = 0.02  # and at least this share of the frame at CLIPPED_GREY or above
FULL_HD_WIDTH = 1920
FRAME_SAMPLE_STEP = 4  # frame brightness from every 4th pixel in each direction: plenty for a mean


def readability_gate(cfg: Config) -> ReadabilityGate:
    """The gate as the pipeline builds it: the configured pose limits and, in expression mode, the
    size floor the model's metadata records (measured in crop pixels, so divided by the crop margin)."""
    metadata: dict = {}
    if cfg.analysis.mode == "expression":
        from edge.inference.classifier import ModelMetadata

        metadata = ModelMetadata.read(cfg.classifier.model_path).raw
    return ReadabilityGate.for_model(cfg.readability, cfg.classifier.crop_margin, metadata)


@dataclass(frozen=True)
class PlacementFigures:
    """What the faces in view look like over a stretch of frames. Shares are of the faces found;
    None where no face was found."""

    frames: int
    seconds: float  # source time from the first to the last frame measured
    width: int
    height: int
    faces_per_frame: float  # mean
    faces_max: int
    faces: int  # detections in all frames
    size_median_px: float | None
    under_24_share: float | None  # faces under SMALL_FACE_PX
    from_24_to_40_share: float | None
    over_40_share: float | None  # faces over LARGE_FACE_PX
    min_face_px: float  # the readability gate's size floor
    below_floor_share: float | None  # faces smaller than min_face_px
    yaw_median: float | None  # degrees, absolute: how far faces are turned
    pitch_median: float | None  # degrees, − = looking down
    max_yaw: float  # readability.max_yaw
    min_pitch: float  # readability.min_pitch
    turned_share: float | None  # faces turned further than max_yaw
    down_share: float | None  # faces looking down further than min_pitch
    readable_share: float | None  # faces the readability gate passes
    face_grey: float | None  # median over faces of each face box's mean grey (0–255)
    frame_grey: float  # mean grey of the frames
    face_to_frame: float | None  # face_grey / frame_grey
    clipped_share: float  # share of frame pixels at CLIPPED_GREY or above

    def to_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Finding:
    kind: str  # no_faces | too_small | from_above | from_side | backlit
    message: str  # what is wrong, with its figure, and the fix


@dataclass(frozen=True)
class PlacementVerdict:
    findings: tuple[Finding, ...]

    @property
    def good(self) -> bool:
        return not self.findings

    @property
    def summary(self) -> str:
        return "; ".join(f.message for f in self.findings) if self.findings else "good placement"

    def to_dict(self) -> dict:
        return {"good": self.good, "summary": self.summary, "findings": [asdict(f) for f in self.findings]}


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}".replace("%", " %")


def placement_verdict(figures: PlacementFigures) -> PlacementVerdict:
    """Findings in the order to fix them; none means a good placement."""
    f = figures
    found = "no faces found" if f.faces == 0 else f"few faces found ({f.faces_per_frame:.1f} per frame)"
    no_faces = Finding("no_faces", f"{found}: check that the camera points at the class and sees the students "
                                   "from the front")
    if f.faces < MIN_FACES_TO_JUDGE:
        return PlacementVerdict((no_faces,))
    findings = []
    if f.under_24_share >= TOO_SMALL_SHARE or f.below_floor_share >= TOO_SMALL_SHARE:
        fix = ("use 1080p or mount the camera closer" if f.width < FULL_HD_WIDTH
               else "mount the camera closer or use a narrower lens")
        findings.append(Finding(
            "too_small", f"faces too small ({_percent(f.under_24_share)} under {SMALL_FACE_PX:.0f} px, "
                         f"{_percent(f.below_floor_share)} under the {f.min_face_px:.0f} px the model reads well): "
                         f"{fix}"))
    if f.down_share >= FROM_ABOVE_SHARE:
        findings.append(Finding(
            "from_above", f"camera looks down from above: faces not frontal ({_percent(f.down_share)} look down "
                          f"more than {-f.min_pitch:.0f}°): mount it at the front at head height (if the class "
                          "was writing, survey again while it looks up)"))
    if f.turned_share >= FROM_SIDE_SHARE:
        findings.append(Finding(
            "from_side", f"camera sees the class from the side ({_percent(f.turned_share)} of faces turned more "
                         f"than {f.max_yaw:.0f}°): mount it at the front, facing the class"))
    if f.face_to_frame < BACKLIT_FACE_TO_FRAME and f.clipped_share >= BACKLIT_CLIPPED_SHARE:
        findings.append(Finding(
            "backlit", f"backlit (faces {_percent(f.face_to_frame)} as bright as the frame, "
                       f"{_percent(f.clipped_share)} of it blown out): turn the camera away from the window or "
                       "close the blinds"))
    # Few faces found, and those found show why (tiny, bent, turned): the others are missed for the
    # same reason, and that reason is the fix. Otherwise the camera may not see the class at all.
    if f.faces_per_frame < MIN_FACES_PER_FRAME and not findings:
        findings.append(no_faces)
    return PlacementVerdict(tuple(findings))


@dataclass(frozen=True)
class _FrameMeasure:
    """One frame's measurements (numbers only; no pixels are kept)."""

    timestamp: float
    width: int
    height: int
    sizes: np.ndarray  # per face: side in pixels
    yaws: np.ndarray  # degrees
    pitches: np.ndarray
    readable: np.ndarray  # bool
    face_greys: np.ndarray  # mean grey of each face box
    frame_grey: float
    clipped_share: float


def _share(mask: np.ndarray) -> float | None:
    return float(np.mean(mask)) if mask.size else None


class PlacementAccumulator:
    """Placement figures over the frames added, or over the last `window_seconds` of source time.

    add() is called from the thread that processes frames; figures() and standing_verdict() may be
    called from another (the health reporter), hence the lock.
    """

    def __init__(self, gate: ReadabilityGate, window_seconds: float | None = None):
        self.gate, self.window_seconds = gate, window_seconds
        self._frames: deque[_FrameMeasure] = deque()
        self._since: float | None = None  # first timestamp since the start or the last reset
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget what was measured (the camera was moved: a scene cut)."""
        with self._lock:
            self._frames.clear()
            self._since = None

    def add(self, timestamp: float, image: np.ndarray, detections: list[Detection],
            assessed: list[Readability]) -> None:
        """image: the BGR frame the detections were found in (read here, not kept); assessed: the
        gate's verdict on each detection, as the caller already has it."""
        height, width = image.shape[:2]
        sample = np.ascontiguousarray(image[::FRAME_SAMPLE_STEP, ::FRAME_SAMPLE_STEP])
        frame_grey = cv2.cvtColor(sample, cv2.COLOR_BGR2GRAY)
        measure = _FrameMeasure(
            timestamp, width, height, np.array([d.size for d in detections], np.float64),
            np.array([a.pose.yaw for a in assessed], np.float64),
            np.array([a.pose.pitch for a in assessed], np.float64),
            np.array([a.readable for a in assessed], bool),
            np.array([_box_grey(image, d.box) for d in detections], np.float64),
            float(frame_grey.mean()), float(np.mean(frame_grey >= CLIPPED_GREY)))
        with self._lock:
            if self._since is None:
                self._since = timestamp
            self._frames.append(measure)
            if self.window_seconds is not None:
                while self._frames[0].timestamp < timestamp - self.window_seconds:
                    self._frames.popleft()

    def figures(self) -> PlacementFigures | None:
        """None before the first frame."""
        with self._lock:
            frames = list(self._frames)
        if not frames:
            return None
        sizes = np.concatenate([f.sizes for f in frames])
        yaws = np.abs(np.concatenate([f.yaws for f in frames]))
        pitches = np.concatenate([f.pitches for f in frames])
        readable = np.concatenate([f.readable for f in frames])
        face_greys = np.concatenate([f.face_greys for f in frames])
        counts = [f.sizes.size for f in frames]
        frame_grey = float(np.mean([f.frame_grey for f in frames]))
        face_grey = float(np.median(face_greys)) if face_greys.size else None
        cfg = self.gate.cfg
        return PlacementFigures(
            frames=len(frames), seconds=frames[-1].timestamp - frames[0].timestamp, width=frames[-1].width,
            height=frames[-1].height, faces_per_frame=float(np.mean(counts)), faces_max=int(max(counts)),
            faces=int(sizes.size), size_median_px=float(np.median(sizes)) if sizes.size else None,
            under_24_share=_share(sizes < SMALL_FACE_PX),
            from_24_to_40_share=_share((sizes >= SMALL_FACE_PX) & (sizes <= LARGE_FACE_PX)),
            over_40_share=_share(sizes > LARGE_FACE_PX), min_face_px=float(self.gate.min_face_px),
            below_floor_share=_share(sizes < self.gate.min_face_px),
            yaw_median=float(np.median(yaws)) if yaws.size else None,
            pitch_median=float(np.median(pitches)) if pitches.size else None,
            max_yaw=cfg.max_yaw, min_pitch=cfg.min_pitch, turned_share=_share(yaws > cfg.max_yaw),
            down_share=_share(pitches < cfg.min_pitch), readable_share=_share(readable), face_grey=face_grey,
            frame_grey=frame_grey, face_to_frame=face_grey / max(frame_grey, 1.0) if face_grey is not None else None,
            clipped_share=float(np.mean([f.clipped_share for f in frames])))

    def standing_verdict(self) -> PlacementVerdict | None:
        """The verdict once a whole window has been measured since the start (or the last reset);
        None before, so that a moment of heads down does not count as a placement problem."""
        with self._lock:
            measured = self._frames[-1].timestamp - self._since if self._frames else 0.0
        if self.window_seconds is None or measured < self.window_seconds:
            return None
        figures = self.figures()
        return placement_verdict(figures) if figures is not None else None


def _box_grey(image: np.ndarray, box: tuple[float, float, float, float]) -> float:
    height, width = image.shape[:2]
    x0, y0 = min(max(int(box[0]), 0), width - 1), min(max(int(box[1]), 0), height - 1)
    x1, y1 = max(min(int(round(box[2])), width), x0 + 1), max(min(int(round(box[3])), height), y0 + 1)
    return float(cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).mean())


@dataclass(frozen=True)
class Survey:
    source: str  # the source's description (credentials redacted)
    figures: PlacementFigures
    verdict: PlacementVerdict

    def to_dict(self) -> dict:
        return {"source": self.source, "figures": self.figures.to_dict(), "verdict": self.verdict.to_dict()}


def survey(cfg: Config, seconds: float = SURVEY_SECONDS) -> Survey:
    """Looks at `seconds` of the configured source (files: as fast as they decode, once; cameras
    and streams: in real time) with the product's detector and readability gate.
    Raises SourceError when the source gives no frame."""
    from edge.capture.capture import Capture
    from edge.capture.sources import SourceError
    from edge.detect.detector import FaceDetector

    source = SourceConfig.model_validate({**cfg.source.model_dump(), "loop": False})
    capture = Capture(source, cfg.processing.fps, realtime=False)
    gate = readability_gate(cfg)
    accumulator = PlacementAccumulator(gate)
    detector = FaceDetector(cfg.detection, cfg.privacy)
    # A live source that never delivers would keep the capture reconnecting: give it up after the
    # survey's time plus the time the appliance allows a stalled source.
    deadline = threading.Timer(seconds + cfg.source.stall_seconds, capture.stop) if capture.live else None
    if deadline is not None:
        deadline.start()
    frames = capture.frames()
    first = None
    try:
        for frame in frames:
            first = frame.timestamp if first is None else first
            if frame.timestamp - first >= seconds:
                break
            # a whole discovery sweep of every frame: the survey wants each frame's whole count
            detections = detector.sweep(frame.image)
            accumulator.add(frame.timestamp, frame.image, detections, [gate.assess(d) for d in detections])
    finally:
        frames.close()
        detector.close()
        if deadline is not None:
            deadline.cancel()
    figures = accumulator.figures()
    if figures is None:
        raise SourceError(f"{capture.source.description} gave no frame to survey")
    return Survey(capture.source.description, figures, placement_verdict(figures))


def _number(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:.0f}{unit}"


def survey_text(result: Survey) -> str:
    """The survey for a person: figures, then the verdict and its fixes."""
    f = result.figures
    lines = [
        f"source       {result.source}, {f.width}x{f.height}, {f.frames} frames over {f.seconds:.1f} s",
        f"faces        {f.faces_per_frame:.1f} per frame on average, {f.faces_max} at most",
        f"size         {_percent(f.under_24_share)} under {SMALL_FACE_PX:.0f} px, {_percent(f.from_24_to_40_share)} "
        f"{SMALL_FACE_PX:.0f}–{LARGE_FACE_PX:.0f} px, {_percent(f.over_40_share)} over {LARGE_FACE_PX:.0f} px "
        f"(median {_number(f.size_median_px, ' px')})",
        f"pose         turned {_number(f.yaw_median, '°')} (median), {_percent(f.turned_share)} more than "
        f"{f.max_yaw:.0f}°; pitch {_number(f.pitch_median, '°')} (median), {_percent(f.down_share)} look down "
        f"more than {-f.min_pitch:.0f}°",
        f"readable     {_percent(f.readable_share)} of faces (pose limits and a size floor of {f.min_face_px:.0f} px; "
        f"{_percent(f.below_floor_share)} are smaller)",
        f"brightness   faces {_number(f.face_grey)} grey, frame {f.frame_grey:.0f} "
        f"(faces {_percent(f.face_to_frame)} of the frame), {_percent(f.clipped_share)} of the frame blown out",
    ]
    if result.verdict.good:
        lines.append("verdict      good placement")
    else:
        lines.extend(f"verdict      {finding.message}" for finding in result.verdict.findings)
    return "\n".join(lines)
