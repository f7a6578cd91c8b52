"""Detection recall and identity switches on the demo classroom, where the truth is known."""

from __future__ import annotations

from edge.capture.demo import DemoScene
from edge.config import Config
from edge.detect.blazeface import SHORT_RANGE
from edge.detect.detector import FaceDetector
from edge.detect.schedule import DetectionSchedule
from edge.detect.tiling import iou, merge_detections
from edge.tracking.tracker import FaceTracker

MATCH_IOU = 0.3


def measure_demo(cfg: Config, scene: DemoScene, seconds: float | None = None) -> dict:
    """Run detection + tracking over the scene at cfg.processing.fps.

    recall: matched visible (non-occluded) faces / visible faces, over frames that complete a
    detection cycle; head_down_recall: the same over the faces of students looking down at their
    desks (foreshortened, eyes closed to the lashes), which count in recall too. id_switches:
    times a student's matched track id changes while the student stays in view; leaving the
    room and coming back is expected to give a new anonymous id and is counted separately as
    re_entries.
    """
    detector = FaceDetector(cfg.detection, cfg.privacy)
    fps = cfg.processing.fps
    schedule = DetectionSchedule(cfg.detection, fps, detector.discovery_plan(scene.width, scene.height),
                                 SHORT_RANGE.input_size)
    step = 1.0 / fps
    tracker = FaceTracker(cfg.tracking, schedule.cadence.updates_per_second(fps))
    duration = min(seconds or scene.seconds, scene.seconds)
    visible = matched = false_positives = switches = re_entries = updates = 0
    head_down_visible = head_down_matched = 0
    last_id: dict[int, str] = {}
    last_seen: dict[int, float] = {}
    cycle = []
    t = 0.0
    while t < duration:
        image, truth = scene.render(t)
        tiles, complete = schedule.next_frame(image, lambda: [face.box for face in tracker.known()])
        cycle.extend(detector.scan(image, tiles))
        if complete:
            detections = merge_detections(cycle, cfg.detection.nms_iou)
            cycle = []
            faces = tracker.update(detections)
            updates += 1
            targets = [f for f in truth if not f.occluded]
            visible += len(targets)
            used = set()
            for target in targets:
                best = max(range(len(detections)), key=lambda i: iou(detections[i].box, target.box), default=None)
                found = best is not None and best not in used and iou(detections[best].box, target.box) >= MATCH_IOU
                if found:
                    used.add(best)
                    matched += 1
                head_down_visible += target.head_down
                head_down_matched += target.head_down and found
            false_positives += len(detections) - len(used)
            for target in truth:
                track = max(faces, key=lambda f: iou(f.detection.box, target.box), default=None)
                if track is None or iou(track.detection.box, target.box) < MATCH_IOU:
                    continue
                previous = last_id.get(target.ident)
                gone = t - last_seen.get(target.ident, t) > cfg.tracking.max_unseen_seconds
                if previous is not None and previous != track.track_id:
                    if gone:
                        re_entries += 1
                    else:
                        switches += 1
                last_id[target.ident], last_seen[target.ident] = track.track_id, t
        t += step
    detector.close()
    return {
        "scene": f"{scene.width}x{scene.height}, {len(scene.students)} students, {duration:g} s",
        "processing_fps": cfg.processing.fps,
        "visible_faces": visible,
        "recall": round(matched / visible, 4) if visible else None,
        "head_down_faces": head_down_visible,
        "head_down_recall": round(head_down_matched / head_down_visible, 4) if head_down_visible else None,
        "false_positives_per_update": round(false_positives / max(updates, 1), 3),
        "id_switches": switches,
        "re_entries": re_entries,
        "students": len(scene.students),
    }


def detection_counts(cfg: Config, source_cfg, plans: tuple[tuple[int, ...], ...] = ((), (384,), (128, 384))) -> dict:
    """Faces found per processed frame of a source (no ground truth) by one discovery sweep of
    every frame, for several tile plans; () = the whole frame only (MediaPipe's default use)."""
    from edge.capture.capture import Capture
    from edge.config import PrivacyConfig

    frames = [frame.image for frame in Capture(source_cfg, cfg.processing.fps, realtime=False).frames()]
    height, width = frames[0].shape[:2]
    results = {}
    for sides in plans:
        detection = cfg.detection.model_copy(update={"tile_sizes": list(sides) or [100_000], "whole_frame_pass": True})
        detector = FaceDetector(detection, PrivacyConfig())
        counts = [len(detector.sweep(image)) for image in frames]
        key = "whole_frame" if not sides else "tiles_" + "_".join(f"{side}px" for side in sides) + "_plus_whole"
        results[key] = {"tiles": len(detector.discovery_plan(width, height)),
                        "faces_per_frame_mean": round(sum(counts) / len(counts), 2),
                        "faces_per_frame_min": min(counts), "faces_per_frame_max": max(counts)}
        detector.close()
    return {"frames": len(frames), "frame_size": [width, height], **results}
