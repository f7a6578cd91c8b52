"""The index against a known truth: the real pipeline on scripted classroom scenes.

Each scene is rendered (or found in the cache), played through the product's Pipeline from its
video file, and every tracker update is recorded in memory (detections, readings, smoothed
states) together with the windows the product emitted. The metrics compare those with the
scene's truth, which the timeline computes exactly for any instant.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from edge.calibration import Calibration, softmax
from edge.capture.capture import Capture
from edge.config import Config
from edge.detect.tiling import iou
from edge.inference.classifier import ExpressionClassifier
from edge.lsi.quantify import ConfusionModel
from edge.lsi.stage import IndexStage
from edge.lsi.windows import WindowAggregate
from edge.pipeline import Pipeline
from edge.scenes.cache import SceneVideo
from edge.scenes.timeline import StudentState
from edge.sinks import CollectingSink
from edge.smoothing.smoother import TrackDescriptors
from edge.types import Detection, TrackUpdate
from lsi_contract.scale import lsi, weight_vector

log = logging.getLogger("lsi_edge.evaluation")

MATCH_IOU = 0.3
SIZE_BANDS = ((0.0, 20.0, "≤20"), (20.0, 30.0, "20–30"), (30.0, 50.0, "30–50"), (50.0, math.inf, ">50"))
LAG_BEFORE = 1.5  # seconds of the old expression that set the level before a step
LAG_AFTER = (2.0, 3.5)  # seconds after a step over which the new level is measured
LAG_MIN_CONTRAST = 0.2  # steps the model cannot tell apart (signal change below this) are skipped


def size_band(size: float) -> str:
    return next(name for low, high, name in SIZE_BANDS if low < size <= high or (low == 0.0 and size <= high))


# -- recording ---------------------------------------------------------------------------------------
@dataclass
class UpdateRecord:
    timestamp: float
    detections: list[Detection]
    update: TrackUpdate
    states: dict[str, TrackDescriptors]
    truth: list[StudentState]  # students in frame at this instant


@dataclass
class SceneRecording:
    scene: SceneVideo
    updates: list[UpdateRecord] = field(default_factory=list)
    windows: list[WindowAggregate] = field(default_factory=list)
    epoch_offset: float = 0.0
    frames: int = 0
    confusion: ConfusionModel | None = None


def record_scene(scene: SceneVideo, cfg: Config, classifier: ExpressionClassifier) -> SceneRecording:
    """The product's pipeline over the scene's video; everything kept in memory."""
    renderer = scene.renderer
    room = scene.scenario.room
    recording = SceneRecording(scene)

    def observe(detections, update, states):
        truth = [s for s in renderer.states(update.timestamp) if s.in_frame(room.width, room.height)]
        recording.updates.append(UpdateRecord(update.timestamp, list(detections), update, dict(states), truth))

    run_cfg = cfg.model_copy(update={"source": cfg.source.model_copy(update={"uri": str(scene.video), "loop": False})})
    sink = CollectingSink()
    pipeline = Pipeline(run_cfg, classifier, [sink], observer=observe)
    stats = pipeline.run(Capture(run_cfg.source, run_cfg.processing.fps, realtime=False))
    pipeline.detector.close()
    recording.windows = list(sink.windows)
    recording.epoch_offset = pipeline.index.aggregator.epoch_offset if pipeline.index else 0.0
    recording.frames = stats.frames
    recording.confusion = pipeline.confusion
    return recording


def replay(recording: SceneRecording, cfg: Config, labels: tuple[str, ...]) -> SceneRecording:
    """The same tracker updates through another smoothing / index configuration (no re-detection)."""
    stage = IndexStage(cfg.smoothing, cfg.lsi, cfg.privacy, labels, recording.confusion, True, recording.epoch_offset)
    updates, windows = [], []
    for record in recording.updates:
        closed, states = stage.update(record.update)
        windows.extend(closed)
        updates.append(replace(record, states=states))
    last = stage.flush()
    if last is not None:
        windows.append(last)
    return SceneRecording(recording.scene, updates, windows, recording.epoch_offset, recording.frames,
                          recording.confusion)


def flattened(recording: SceneRecording, factor: float) -> SceneRecording:
    """The same recording with every reading's probabilities made flatter, p^(1/factor) renormalised: a
    model less confident on this camera than its calibration says (factor > 1)."""
    updates = []
    for record in recording.updates:
        readings = tuple(reading if reading.probabilities is None else
                         replace(reading, probabilities=softmax(np.log(np.maximum(reading.probabilities, 1e-12)),
                                                                factor))
                         for reading in record.update.readings)
        updates.append(replace(record, update=replace(record.update, readings=readings)))
    return replace(recording, updates=updates)


# -- matching ----------------------------------------------------------------------------------------
def match(boxes: list[tuple], truth: list[StudentState]) -> dict[int, int]:
    """Box index → truth index, one-to-one, maximum total IoU, IoU ≥ MATCH_IOU."""
    if not boxes or not truth:
        return {}
    overlap = np.array([[iou(b, t.box) for t in truth] for b in boxes])
    rows, cols = linear_sum_assignment(-overlap)
    return {int(r): int(c) for r, c in zip(rows, cols) if overlap[r, c] >= MATCH_IOU}


# -- metrics -----------------------------------------------------------------------------------------
def detection_metrics(recordings: list[SceneRecording]) -> dict:
    """Recall over visible faces per size band; precision over all detections per size band."""
    found = {name: [0, 0] for *_, name in SIZE_BANDS}  # matched, visible
    kept = {name: [0, 0] for *_, name in SIZE_BANDS}  # true, detected
    for recording in recordings:
        for record in recording.updates:
            pairs = match([d.box for d in record.detections], record.truth)
            matched_truth = set(pairs.values())
            for index, student in enumerate(record.truth):
                if student.visible:
                    band = found[size_band(student.size)]
                    band[1] += 1
                    band[0] += index in matched_truth
            for index, detection in enumerate(record.detections):
                band = kept[size_band(detection.size)]
                band[1] += 1
                band[0] += index in pairs
    recall = {name: _ratio(*values) for name, values in found.items()}
    at_least_30 = np.sum([values for (low, _, _), values in zip(SIZE_BANDS, found.values()) if low >= 30.0], axis=0)
    recall["≥30"] = _ratio(*at_least_30)  # the gate: faces of 30 px and more
    precision = {name: _ratio(*values) for name, values in kept.items()}
    all_found = np.sum(list(found.values()), axis=0)
    all_kept = np.sum(list(kept.values()), axis=0)
    return {"recall": {**recall, "all": _ratio(*all_found)}, "precision": {**precision, "all": _ratio(*all_kept)},
            "visible_faces": {name: values[1] for name, values in found.items()}}


def _ratio(numerator, denominator) -> float | None:
    return round(float(numerator) / float(denominator), 4) if denominator else None


def tracking_metrics(recordings: list[SceneRecording]) -> dict:
    """IDF1 and identity switches (py-motmetrics) over visible faces; tracks on covered faces are ignored."""
    import motmetrics

    summaries, switches_per_student = [], {}
    for recording in recordings:
        accumulator = motmetrics.MOTAccumulator(auto_id=True)
        numbers: dict[str, int] = {}  # motmetrics wants numeric ids; ours are random strings
        for record in recording.updates:
            readings = list(record.update.readings)
            hidden = [s for s in record.truth if not s.visible]
            on_hidden = set(match([r.box for r in readings], hidden))  # not errors: the face is there
            hypotheses = [r for i, r in enumerate(readings) if i not in on_hidden]
            visible = [s for s in record.truth if s.visible]
            distances = np.array([[1.0 - iou(s.box, h.box) for h in hypotheses] for s in visible]).reshape(
                len(visible), len(hypotheses))
            distances[distances > 1.0 - MATCH_IOU] = np.nan
            accumulator.update([s.ident for s in visible],
                               [numbers.setdefault(h.track_id, len(numbers)) for h in hypotheses], distances)
        events = accumulator.mot_events
        for ident, count in events[events.Type == "SWITCH"].groupby("OId").size().items():
            key = f"{recording.scene.scenario.name}/{ident}"
            switches_per_student[key] = int(count)
        summaries.append(accumulator)
    host = motmetrics.metrics.create()
    names = [r.scene.scenario.name for r in recordings]
    table = host.compute_many(summaries, metrics=["idf1", "num_switches", "mota", "num_frames"], names=names,
                              generate_overall=True)
    overall = table.loc["OVERALL"]
    return {"idf1": round(float(overall["idf1"]), 4), "id_switches": int(overall["num_switches"]),
            "mota": round(float(overall["mota"]), 4), "switches_per_student": switches_per_student,
            "per_scene": {name: {"idf1": round(float(table.loc[name, "idf1"]), 4),
                                 "id_switches": int(table.loc[name, "num_switches"])} for name in names}}


@dataclass
class FaceSample:
    """One reading matched to a student: what the model said and what was true."""

    t: float
    track_id: str
    student: int
    size: float
    raw: np.ndarray | None  # None: the product's gate did not read the face
    smoothed: np.ndarray | None
    dominant: int | None  # the product's dominant class for the face (with its hysteresis)
    label: int
    expression_key: tuple[int, int, float]  # (label, image, since): constant while the expression is
    readable: bool  # truly readable (the truth's pose and covering)


def face_samples(recording: SceneRecording) -> list[FaceSample]:
    samples = []
    for record in recording.updates:
        readings = list(record.update.readings)
        for r_index, t_index in match([r.box for r in readings], record.truth).items():
            reading, student = readings[r_index], record.truth[t_index]
            state = record.states.get(reading.track_id)
            samples.append(FaceSample(record.timestamp, reading.track_id, student.ident, student.size,
                                      reading.probabilities, None if state is None else state.smoothed,
                                      None if state is None else state.dominant,
                                      student.label, (student.label, student.image_key, student.expression_since),
                                      student.readable))
    return samples


def gate_metrics(samples: list[FaceSample]) -> dict:
    """How the product's readability gate agrees with the truth, over faces it detected and tracked."""
    truly = [s for s in samples if s.readable]
    read = [s for s in samples if s.raw is not None]
    return {"read_share_of_readable": _ratio(sum(s.raw is not None for s in truly), len(truly)),
            "unreadable_share_of_read": _ratio(sum(not s.readable for s in read), len(read)),
            "readable_share_of_unreadable_read": _ratio(
                sum(s.raw is not None for s in samples if not s.readable), sum(not s.readable for s in samples))}


def pose_metrics(recordings: list[SceneRecording]) -> dict:
    """Head pose from the detector's keypoints against the scripted pose, over detected faces."""
    from edge.readability.pose import head_pose

    yaw_errors, pitch_errors = [], []
    for recording in recordings:
        for record in recording.updates:
            for d_index, t_index in match([d.box for d in record.detections], record.truth).items():
                student = record.truth[t_index]
                pose = head_pose(record.detections[d_index].keypoints)
                yaw_errors.append(pose.yaw - student.yaw)
                pitch_errors.append(pose.pitch - student.pitch)
    if not yaw_errors:
        return {}
    return {"yaw_mae": round(float(np.mean(np.abs(yaw_errors))), 2), "yaw_bias": round(float(np.mean(yaw_errors)), 2),
            "pitch_mae": round(float(np.mean(np.abs(pitch_errors))), 2),
            "pitch_bias": round(float(np.mean(pitch_errors)), 2), "faces": len(yaw_errors)}


def accuracy_metrics(samples: list[FaceSample]) -> dict:
    readable = [s for s in samples if s.readable and s.raw is not None]
    by_band = {}
    for *_, name in SIZE_BANDS:
        band = [s for s in readable if size_band(s.size) == name]
        by_band[name] = _ratio(sum(int(s.raw.argmax() == s.label) for s in band), len(band))
    smoothed = [s for s in readable if s.smoothed is not None]
    return {"frame_accuracy": _ratio(sum(int(s.raw.argmax() == s.label) for s in readable), len(readable)),
            "smoothed_accuracy": _ratio(sum(int(s.dominant == s.label) for s in smoothed), len(smoothed)),
            "frame_accuracy_by_size": by_band, "readable_readings": len(readable)}


def _tracks(samples: list[FaceSample]) -> dict[tuple[str, int], list[FaceSample]]:
    tracks: dict[tuple[str, int], list[FaceSample]] = {}
    for sample in samples:
        tracks.setdefault((sample.track_id, sample.student), []).append(sample)
    return tracks


def flip_rates(samples: list[FaceSample]) -> dict:
    """Dominant-class changes per minute of face-time while the true expression stays the same."""
    flips = {"smoothed": 0, "frame": 0}
    seconds = 0.0
    for track in _tracks(samples).values():
        for previous, current in zip(track, track[1:]):
            if not (previous.readable and current.readable and previous.expression_key == current.expression_key):
                continue
            if previous.smoothed is None or current.smoothed is None or previous.raw is None or current.raw is None:
                continue
            seconds += current.t - previous.t
            flips["smoothed"] += int(previous.dominant != current.dominant)
            flips["frame"] += int(previous.raw.argmax() != current.raw.argmax())
    minutes = seconds / 60.0
    rates = {k: round(v / minutes, 3) if minutes else None for k, v in flips.items()}
    ratio = (round(rates["frame"] / rates["smoothed"], 2) if rates["smoothed"] else
             (math.inf if rates["frame"] else None))
    return {"flips_per_minute": rates["smoothed"], "frame_flips_per_minute": rates["frame"],
            "reduction": ratio, "face_minutes": round(minutes, 2)}


def step_lags(samples: list[FaceSample]) -> dict:
    """Seconds from a scripted expression change until the smoothed signal p̂[new] − p̂[old] crosses
    half-way between its level before and after the change (frame-wise signal for reference)."""
    lags = {"smoothed": [], "frame": []}
    skipped = 0
    for track in _tracks(samples).values():
        for index in range(1, len(track)):
            before, after = track[index - 1], track[index]
            if before.expression_key == after.expression_key or before.label == after.label:
                continue
            step = after.expression_key[2]
            old, new = before.label, after.label
            window = [s for s in track if step - LAG_BEFORE <= s.t < step + LAG_AFTER[1]]
            if not all(s.readable and s.smoothed is not None and s.raw is not None for s in window):
                continue
            pre = [s for s in window if s.t < step]
            post = [s for s in window if step + LAG_AFTER[0] <= s.t]
            if len(pre) < 2 or len(post) < 2 or any(s.expression_key[2] != step for s in window if s.t >= step):
                continue
            for kind in lags:
                signal = [(s.t, (s.smoothed if kind == "smoothed" else s.raw)) for s in window]
                values = [(t, float(p[new] - p[old])) for t, p in signal]
                low = np.mean([v for t, v in values if t < step])
                high = np.mean([v for t, v in values if t >= step + LAG_AFTER[0]])
                if high - low < LAG_MIN_CONTRAST:
                    skipped += kind == "smoothed"
                    continue
                half = (low + high) / 2.0
                crossing = next((t for t, v in values if t >= step and v >= half), None)
                if crossing is not None:
                    lags[kind].append(crossing - step)
    return {"lag_seconds": _median(lags["smoothed"]), "frame_lag_seconds": _median(lags["frame"]),
            "lag_p90_seconds": _quantile(lags["smoothed"], 0.9), "steps": len(lags["smoothed"]),
            "steps_skipped_low_contrast": skipped}


def _median(values) -> float | None:
    return round(float(np.median(values)), 3) if values else None


def _quantile(values, q) -> float | None:
    return round(float(np.quantile(values, q)), 3) if values else None


@dataclass
class WindowPair:
    scene: str
    start: float
    product: WindowAggregate
    true_lsi: float | None
    true_shares: np.ndarray | None
    true_attention: float | None
    true_faces: float


def truth_windows(recording: SceneRecording, weights: np.ndarray, labels: tuple[str, ...]) -> list[WindowPair]:
    """The truth over exactly the updates each product window saw, aggregated as the product does:
    LSI = mean over students of their mean face LSI, shares = share of face-updates per class."""
    face_lsi = lsi(np.eye(len(labels)), weights)
    pairs = []
    for window in recording.windows:
        # back to source time on the window grid: the epoch figures are rounded, and an update
        # that falls exactly on a boundary must land in the same window as in the product
        length = round(window.window_end - window.window_start, 3)
        start = round((window.window_start - recording.epoch_offset) / length) * length
        end = start + length
        inside = [r for r in recording.updates if start - 1e-6 <= r.timestamp < end - 1e-6]
        per_student: dict[int, list[float]] = {}
        counts = np.zeros(len(labels))
        attention, present = [], []
        for record in inside:
            present.append(len(record.truth))
            if record.truth:
                attention.append(np.mean([s.heads_up for s in record.truth]))
            for student in record.truth:
                if student.readable:
                    per_student.setdefault(student.ident, []).append(float(face_lsi[student.label]))
                    counts[student.label] += 1
        true_lsi = float(np.mean([np.mean(v) for v in per_student.values()])) if per_student else None
        pairs.append(WindowPair(recording.scene.scenario.name, round(start, 3), window, true_lsi,
                                counts / counts.sum() if counts.sum() else None,
                                float(np.mean(attention)) if attention else None,
                                float(np.mean(present)) if present else 0.0))
    return pairs


def window_metrics(pairs: list[WindowPair], labels: tuple[str, ...]) -> dict:
    usable = [p for p in pairs if p.product.lsi is not None and p.true_lsi is not None]
    result = {"windows": len(pairs), "compared": len(usable),
              "suppressed": sum(int(p.product.suppressed) for p in pairs),
              "expression_suppressed": sum(int(p.product.expression_suppressed and not p.product.suppressed)
                                           for p in pairs)}
    if len(usable) >= 3:
        truth = np.array([p.true_lsi for p in usable])
        product = np.array([p.product.lsi for p in usable])
        slope, intercept = np.polyfit(truth, product, 1)
        result.update({"lsi_r": round(float(np.corrcoef(truth, product)[0, 1]), 4),
                       "lsi_slope": round(float(slope), 4), "lsi_intercept": round(float(intercept), 2),
                       "lsi_mae": round(float(np.mean(np.abs(product - truth))), 3),
                       "true_lsi_range": [round(float(truth.min()), 1), round(float(truth.max()), 1)]})
    shares = [(np.array([p.product.emotions[name] for name in labels]), p.true_shares) for p in usable
              if p.product.emotions is not None and p.true_shares is not None]
    if shares:
        result["share_mae"] = round(float(np.mean([np.abs(a - b).mean() for a, b in shares])), 4)
        result["share_mae_per_class"] = {name: round(float(np.mean([abs(a[k] - b[k]) for a, b in shares])), 4)
                                         for k, name in enumerate(labels)}
    attention = [(p.product.attention, p.true_attention) for p in pairs]
    attention = [(a, b) for a, b in attention if a is not None and b is not None]
    result["attention_mae"] = (round(float(np.mean([abs(a - b) for a, b in attention])), 4) if attention
                               else None)
    return result


def scene_summary(recordings: list[SceneRecording]) -> dict:
    """What the scenes contain: face-time per size band and heads down, from the truth of each update."""
    total = small = down = unreadable = 0
    for recording in recordings:
        for record in recording.updates:
            for student in record.truth:
                total += 1
                small += student.size <= 40
                down += student.pitch < -25
                unreadable += not student.readable
    return {"face_updates": total, "share_at_most_40px": _ratio(small, total),
            "share_heads_down": _ratio(down, total), "share_unreadable": _ratio(unreadable, total)}


def evaluate_recordings(recordings: list[SceneRecording], cfg: Config, labels: tuple[str, ...],
                        with_tracking: bool = True) -> dict:
    weights = weight_vector(cfg.lsi.weights, labels)
    samples = [s for r in recordings for s in face_samples(r)]
    pairs = [p for r in recordings for p in truth_windows(r, weights, labels)]
    result = {"detection": detection_metrics(recordings), "faces": accuracy_metrics(samples),
              "gate": gate_metrics(samples), "pose": pose_metrics(recordings),
              "windows": window_metrics(pairs, labels), "flips": flip_rates(samples), "lag": step_lags(samples)}
    if with_tracking:
        result["tracking"] = tracking_metrics(recordings)
    return result


class Progress:
    """One line per tenth of the work on stderr; the evaluation takes minutes."""

    def __init__(self, label: str, stream=None):
        self.label, self.stream, self.shown = label, stream or sys.stderr, -1

    def __call__(self, done: int, total: int) -> None:
        tenth = int(10 * done / max(total, 1))
        if tenth != self.shown:
            self.shown = tenth
            self.stream.write(f"{self.label}: {done}/{total}\n")
            self.stream.flush()


def uncalibrated(classifier: ExpressionClassifier) -> ExpressionClassifier:
    """The same model with plain softmax probabilities (the calibration ablation)."""
    return ExpressionClassifier(classifier.model_path, replace(classifier.metadata, calibration=Calibration()))
