"""BlazeFace decoding, tile plans, tiles around known faces and the detection schedule."""

import numpy as np
import pytest

from edge.capture.demo import DemoScene
from edge.config import Config, DetectionConfig, PrivacyConfig
from edge.detect.blazeface import FULL_RANGE, SHORT_RANGE, decode, ssd_anchors, weighted_nms
from edge.detect.detector import FaceDetector, tile_input
from edge.detect.schedule import Cadence, DetectionSchedule
from edge.detect.tiling import ROI_FACE_SIDES, Tile, merge_detections, plan_tiles, roi_tiles
from edge.types import Detection


def test_anchor_layouts_match_the_models_outputs():
    full, short = ssd_anchors(FULL_RANGE), ssd_anchors(SHORT_RANGE)
    assert full.shape == (2304, 2) and short.shape == (896, 2)
    assert np.allclose(full[0], [0.5 / 48, 0.5 / 48]) and np.allclose(full[-1], [47.5 / 48, 47.5 / 48])
    # short range: 16×16 cells with 2 anchors, then 8×8 cells with 6 (three layers of stride 16)
    assert np.allclose(short[0], short[1]) and np.allclose(short[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(short[512], [0.5 / 8, 0.5 / 8]) and np.allclose(short[512], short[517])


def test_decode_places_a_box_relative_to_its_anchor():
    anchors = ssd_anchors(SHORT_RANGE)
    regressors = np.zeros((896, 16), np.float32)
    logits = np.full((896, 1), -10.0, np.float32)
    regressors[600] = [12.8, -6.4, 32.0, 32.0] + [0.0] * 12  # 0.1 right, 0.05 up, 0.25 wide (of 128 px)
    logits[600] = 4.0
    boxes, keypoints, scores = decode(regressors, logits, anchors, 128, 0.5)
    assert len(boxes) == 1 and scores[0] == pytest.approx(1 / (1 + np.exp(-4.0)))
    cx, cy = anchors[600] + [0.1, -0.05]
    assert np.allclose(boxes[0], [cx - 0.125, cy - 0.125, cx + 0.125, cy + 0.125], atol=1e-6)
    assert np.allclose(keypoints[0], anchors[600])


def test_weighted_nms_blends_one_face_and_keeps_another():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]])
    keypoints = np.zeros((3, 6, 2))
    faces = weighted_nms(boxes, keypoints, np.array([0.9, 0.6, 0.7]), 0.3)
    assert len(faces) == 2
    assert faces[0][2] == 0.9 and faces[0][0][0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.6) / 1.5)
    assert np.allclose(faces[1][0], [0.6, 0.6, 0.8, 0.8])


def test_discovery_plan_covers_the_frame_at_every_scale():
    plan = plan_tiles(1280, 720, [128, 384], 0.25, True)
    for side in (128, 384):
        covered = np.zeros((720, 1280), bool)
        for tile in (t for t in plan if t.side == side):
            assert tile.model == "short-range" and tile.x1 <= 1280 and tile.y1 <= 720
            covered[tile.y0:tile.y1, tile.x0:tile.x1] = True
        assert covered.all()
    assert plan[-1] == Tile(0, 0, 1280, "full-range")
    # a side the frame cannot hold is skipped; with no tile left the whole frame is still read
    assert plan_tiles(320, 240, [384], 0.25, False) == [Tile(0, 0, 320, "full-range")]


def test_tiles_around_faces_show_each_face_at_its_scale_and_share_tiles():
    far = [(100.0 + 30 * i, 100.0, 120.0 + 30 * i, 120.0) for i in range(3)]  # three 20 px faces side by side
    near = (600.0, 400.0, 680.0, 480.0)  # one 80 px face
    tiles = roi_tiles(far + [near], 1280, 720, SHORT_RANGE.input_size)
    assert len(tiles) == 2  # the far row shares one 128 px tile
    for box in far + [near]:
        size = box[2] - box[0]
        holder = [t for t in tiles if t.contains(box)]
        assert holder, box
        assert size * 128 / holder[0].side == pytest.approx(min(size, 128 / ROI_FACE_SIDES), rel=0.05)
    # tiles stay inside the frame
    edge_tiles = roi_tiles([(1270.0, 710.0, 1280.0, 720.0)], 1280, 720, 128)
    assert edge_tiles[0].x1 == 1280 and edge_tiles[0].y1 == 720


def test_a_whole_face_beats_a_cut_one_in_merging():
    cut = Detection((100.0, 100.0, 120.0, 140.0), 0.95, np.zeros((6, 2)), truncated=True)
    whole = Detection((100.0, 100.0, 140.0, 140.0), 0.7, np.zeros((6, 2)))
    assert merge_detections([cut, whole], 0.3) == [whole]


def test_cadence_is_set_in_source_time():
    cfg = DetectionConfig(updates_per_second=4.0, sweep_seconds=3.0)
    at_8 = Cadence.of(cfg, 8.0, 120)
    at_30 = Cadence.of(cfg, 30.0, 120)
    assert at_8.frames_per_cycle == 2 and at_8.updates_per_second(8.0) == 4.0
    assert at_30.frames_per_cycle == 8 and at_30.updates_per_second(30.0) == pytest.approx(3.75)
    # the plan is swept once per sweep_seconds whatever the frame rate
    for fps, cadence in ((8.0, at_8), (30.0, at_30)):
        cycles_per_sweep = 3.0 * cadence.updates_per_second(fps)
        assert cadence.discovery_per_cycle * cycles_per_sweep == pytest.approx(120, rel=0.1)


def _noise(seed: int) -> np.ndarray:
    """A frame unlike any other of a test: random 16 px blocks, so every tile's thumbnail changes."""
    blocks = np.random.default_rng(seed).integers(0, 256, (45, 80, 3), dtype=np.uint8)
    return blocks.repeat(16, axis=0).repeat(16, axis=1)


def test_schedule_sweeps_everything_first_then_follows_the_faces():
    cfg = DetectionConfig(sweep_seconds=3.0)
    plan = plan_tiles(1280, 720, cfg.tile_sizes, cfg.tile_overlap, True)
    schedule = DetectionSchedule(cfg, 8.0, plan, 128)
    first = [schedule.next_frame(_noise(i), lambda: []) for i in range(2)]
    assert [done for _, done in first] == [False, True]
    assert sorted(first[0][0] + first[1][0], key=str) == sorted(plan, key=str)
    faces = [(200.0, 200.0, 230.0, 230.0), (900.0, 500.0, 960.0, 560.0)]
    seen_discovery = set()
    for i in range(12):  # 3 s at 4 cycles a second, every frame different
        cycle = (schedule.next_frame(_noise(10 + 2 * i), lambda: faces)[0]
                 + schedule.next_frame(_noise(11 + 2 * i), lambda: faces)[0])
        for box in faces:  # every known face is looked at in every cycle
            assert any(t.contains(box) and t.side < 384 for t in cycle)
        seen_discovery.update(t for t in cycle if t in plan)
    assert seen_discovery == set(plan)
    schedule.restart()
    again = schedule.next_frame(_noise(99), lambda: faces)[0] + schedule.next_frame(_noise(98), lambda: faces)[0]
    assert set(plan) <= set(again)


def test_unchanged_tiles_are_skipped_until_something_moves():
    cfg = DetectionConfig(sweep_seconds=3.0)
    plan = plan_tiles(1280, 720, cfg.tile_sizes, cfg.tile_overlap, True)
    schedule = DetectionSchedule(cfg, 8.0, plan, 128)
    still = _noise(1)
    for _ in range(2):
        schedule.next_frame(still, lambda: [])  # the first, whole sweep
    scanned = []
    for _ in range(48):  # two sweeps (3 s each at 8 fps) of an unchanged room: nothing to look at
        scanned += schedule.next_frame(still, lambda: [])[0]
    assert scanned == [] and schedule.discovery_skipped == 2 * len(plan)
    moved = still.copy()
    moved[0:128, 0:128] = 255  # something bright appears in the top-left corner
    for _ in range(24):  # one sweep
        scanned += schedule.next_frame(moved, lambda: [])[0]
    changed = {t for t in plan if t.x0 < 128 and t.y0 < 128}
    assert changed <= set(scanned) and len(scanned) < len(plan) / 4
    for _ in range(48):  # an unchanged tile is still looked at every STATIC_SKIPS + 1 sweeps
        scanned += schedule.next_frame(moved, lambda: [])[0]
    assert set(scanned) == set(plan)


def test_tiles_past_the_frame_edge_are_padded_not_stretched():
    image = np.full((100, 200, 3), 255, np.uint8)
    tile = tile_input(image, Tile(0, 0, 200, "full-range"), 192)
    assert tile.shape == (192, 192, 3)
    assert (tile[:90] == 255).all() and (tile[100:] == 0).all()


def test_detector_finds_the_demo_room_and_marks_cut_faces():
    scene = DemoScene(width=1280, height=720, faces=12, seconds=5)
    image, truth = scene.render(1.0)
    detector = FaceDetector(Config().detection, PrivacyConfig())
    found = detector.sweep(image)
    assert len(found) >= len([f for f in truth if not f.occluded]) - 1
    assert not any(d.truncated for d in found)
    face = max(truth, key=lambda f: f.box[2] - f.box[0])
    x0, y0, x1, y1 = (int(v) for v in face.box)
    # a tile whose right edge cuts the face in half
    cut_tile = Tile(x0 - 128 + (x1 - x0) // 2, y0 - 20, 128, "short-range")
    cut = detector.scan(image, [cut_tile])
    assert all(d.truncated for d in cut if d.box[2] >= cut_tile.x1 - 3)


def _run_demo(redetect_every: int):
    from edge.capture.capture import Capture
    from edge.inference import ExpressionClassifier
    from edge.pipeline import Pipeline
    from edge.sinks import CollectingSink

    cfg = Config.model_validate({"source": {"uri": "demo:1280x720:12:8"},
                                 "detection": {"redetect_every": redetect_every}})
    classifier = ExpressionClassifier.load(cfg.classifier.model_path)
    pipeline = Pipeline(cfg, classifier, [CollectingSink()])
    return pipeline.run(Capture(cfg.source, cfg.processing.fps, realtime=False))


def test_known_faces_are_carried_between_detections_and_still_read():
    every_cycle, every_other = _run_demo(1), _run_demo(2)
    assert every_cycle.tracker_updates == every_other.tracker_updates
    # half the tiles around known faces, the same faces read at every update
    assert every_other.tiles_scanned < 0.85 * every_cycle.tiles_scanned
    assert every_other.faces_classified >= 0.95 * every_cycle.faces_classified
