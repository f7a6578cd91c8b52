"""`lsi-edge survey`: the placement verdict as pure rules, the rolling figures the appliance keeps,
and the survey itself on scripted scenes rendered into the test's folder: small faces, a camera
above the class, a well-placed camera, a window behind the class."""

import json
from dataclasses import replace

import numpy as np
import pytest

from edge.config import Config, ReadabilityConfig
from edge.doctor import Check, _placement
from edge.paths import shared_dir
from edge.readability.gate import ReadabilityGate
from edge.readability.pose import FRONTAL_MOUTH_DROP, FRONTAL_NOSE_DROP
from edge.scenes import cache
from edge.scenes.cache import render_scene
from edge.scenes.render import FaceBank, SceneRenderer
from edge.scenes.script import load_scenario
from edge.survey import (
    BACKLIT_CLIPPED_SHARE,
    BACKLIT_FACE_TO_FRAME,
    FROM_ABOVE_SHARE,
    MIN_FACES_PER_FRAME,
    MIN_FACES_TO_JUDGE,
    TOO_SMALL_SHARE,
    PlacementAccumulator,
    PlacementFigures,
    Survey,
    placement_verdict,
    survey,
)
from edge.types import Detection
from tests.conftest import needs_scene_data
from tests.test_run_cli import run_cli

SHARED = shared_dir()
SCENE_SECONDS = 6.0

# -- the verdict: pure rules over the figures ----------------------------------------------------------
GOOD = PlacementFigures(
    frames=80, seconds=9.9, width=1280, height=720, faces_per_frame=12.0, faces_max=14, faces=960,
    size_median_px=55.0, under_24_share=0.0, from_24_to_40_share=0.2, over_40_share=0.8, min_face_px=33.3,
    below_floor_share=0.1, yaw_median=12.0, pitch_median=5.0, max_yaw=40.0, min_pitch=-25.0, turned_share=0.1,
    down_share=0.1, readable_share=0.8, face_grey=110.0, frame_grey=150.0, face_to_frame=0.73, clipped_share=0.0)


def kinds(figures: PlacementFigures) -> list[str]:
    return [finding.kind for finding in placement_verdict(figures).findings]


def test_each_rule_names_its_problem_and_its_fix():
    assert placement_verdict(GOOD).good and placement_verdict(GOOD).summary == "good placement"

    small = placement_verdict(replace(GOOD, under_24_share=0.7, below_floor_share=0.9))
    assert [f.kind for f in small.findings] == ["too_small"]
    assert small.summary.startswith("faces too small (70 % under 24 px") and "use 1080p" in small.summary
    assert "narrower lens" in placement_verdict(replace(GOOD, width=1920, under_24_share=0.7)).summary
    # Faces of 24–33 px are found but not read well: too small for the model all the same.
    assert kinds(replace(GOOD, under_24_share=0.1, below_floor_share=TOO_SMALL_SHARE)) == ["too_small"]

    above = placement_verdict(replace(GOOD, down_share=FROM_ABOVE_SHARE))
    assert above.summary.startswith("camera looks down from above: faces not frontal (50 % look down more than 25°)")
    assert kinds(replace(GOOD, turned_share=0.6)) == ["from_side"]

    backlit = replace(GOOD, face_to_frame=BACKLIT_FACE_TO_FRAME - 0.01, clipped_share=BACKLIT_CLIPPED_SHARE)
    assert kinds(backlit) == ["backlit"] and "turn the camera away from the window" in placement_verdict(backlit).summary
    # Dark faces against a light wall, nothing blown out: not back-light.
    assert placement_verdict(replace(backlit, clipped_share=0.0)).good

    several = replace(GOOD, under_24_share=0.8, down_share=0.7, turned_share=0.0)
    assert kinds(several) == ["too_small", "from_above"]


def test_few_faces_are_judged_by_those_found():
    none = replace(GOOD, faces_per_frame=0.0, faces_max=0, faces=0, size_median_px=None, under_24_share=None,
                   from_24_to_40_share=None, over_40_share=None, below_floor_share=None, yaw_median=None,
                   pitch_median=None, turned_share=None, down_share=None, readable_share=None, face_grey=None,
                   face_to_frame=None)
    verdict = placement_verdict(none)
    assert kinds(none) == ["no_faces"] and verdict.summary.startswith("no faces found: check that the camera points")
    few = replace(GOOD, faces_per_frame=MIN_FACES_PER_FRAME - 0.1)
    assert kinds(few) == ["no_faces"] and "few faces found (0.4 per frame)" in placement_verdict(few).summary
    # Too few to judge by: whatever they look like, the camera may not see the class.
    assert kinds(replace(few, faces=MIN_FACES_TO_JUDGE - 1, under_24_share=1.0)) == ["no_faces"]
    # Enough to judge by, and tiny: the faces not found are missed for the same reason.
    assert kinds(replace(few, under_24_share=1.0)) == ["too_small"]
    assert json.loads(json.dumps(verdict.to_dict()))["good"] is False


# -- the rolling figures the appliance can keep ------------------------------------------------------------
def frontal_face(x: float, y: float, eye_distance: float) -> Detection:
    """A detection with the keypoints of a frontal face (pose 0°, 0°) whose eyes are centred at (x, y)."""
    half = eye_distance / 2.0
    keypoints = np.array([[x - half, y], [x + half, y], [x, y + FRONTAL_NOSE_DROP * eye_distance],
                          [x, y + FRONTAL_MOUTH_DROP * eye_distance], [x - 2 * half, y], [x + 2 * half, y]],
                         np.float32)
    side = 2.2 * eye_distance
    return Detection((x - side / 2, y - side / 3, x + side / 2, y + 2 * side / 3), 0.9, keypoints)


def test_rolling_figures_keep_the_last_window_and_judge_only_a_whole_one():
    gate = ReadabilityGate(ReadabilityConfig(), model_min_face_px=30.0)
    rolling = PlacementAccumulator(gate, window_seconds=10.0)
    assert rolling.figures() is None and rolling.standing_verdict() is None
    frame = np.full((360, 640, 3), 120, np.uint8)
    frame[:40] = 255  # a blown-out strip: 1/9 of the frame

    def add(second, faces):
        rolling.add(float(second), frame, faces, [gate.assess(face) for face in faces])

    for second in range(10):  # two large frontal faces a second
        add(second, [frontal_face(100, 150, 30), frontal_face(400, 150, 30)])
    assert rolling.standing_verdict() is None  # 9 s measured, the window is 10 s
    for second in range(10, 21):  # then one small face a second
        add(second, [frontal_face(300, 200, 8)])
    figures = rolling.figures()
    assert figures.frames == 11 and figures.seconds == 10.0  # seconds 10–20: the large faces have left the window
    assert figures.faces_per_frame == 1.0 and figures.under_24_share == 1.0 and figures.readable_share == 0.0
    assert figures.pitch_median == pytest.approx(0.0, abs=0.5) and figures.yaw_median == pytest.approx(0.0, abs=0.5)
    assert figures.frame_grey > 120 and figures.clipped_share == pytest.approx(1 / 9, abs=0.01)
    assert figures.face_grey == pytest.approx(120.0) and figures.min_face_px == 30.0
    assert [f.kind for f in rolling.standing_verdict().findings] == ["too_small"]
    rolling.reset()
    assert rolling.figures() is None and rolling.standing_verdict() is None


# -- the survey on rendered scenes -------------------------------------------------------------------------
SCENE = """
name: {name}
seed: 31
seconds: {seconds}
students: {students}
room: {{width: {width}, height: {height}, fps: 8, rows: {rows}, near_face_px: {near}, far_face_px: {far}}}
camera: {{blur_sigma: 0.5, noise_sigma: 2.0, video_quality: 75, lighting_drift: 0.05, backlight: {backlight}}}
mood: {{neutral: 0.6, happy: 0.3, sad: 0.1}}
heads_down: {{share: 0.0}}
"""
WELL_PLACED = dict(students=10, width=960, height=540, rows=2, near=80, far=50, backlight=0.0)


@pytest.fixture(scope="module")
def bank():
    return FaceBank.from_shared(SHARED)


def scene_video(tmp_path, bank, name: str, **room) -> str:
    """Renders the scene into tmp_path (its own cache: the key's face-data digest need not be real)."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(SCENE.format(name=name, seconds=SCENE_SECONDS, **room))
    return str(render_scene(load_scenario(path), bank, "survey-test", cache_dir=tmp_path / "scenes").video)


def surveyed(video: str) -> Survey:
    cfg = Config.model_validate({"source": {"uri": video}})
    return survey(cfg, SCENE_SECONDS)


@needs_scene_data
def test_small_faces_are_too_small_and_no_frame_is_written(tmp_path, bank):
    video = scene_video(tmp_path, bank, "small-faces", students=20, width=1280, height=720, rows=3, near=21, far=15,
                        backlight=0.0)
    audit_log = tmp_path / "audit.json"
    result = run_cli(tmp_path, "survey", "--source", video, "--seconds", str(SCENE_SECONDS), audited=audit_log)
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("verdict")]
    assert len(verdicts) == 1 and verdicts[0].split(maxsplit=1)[1].startswith("faces too small ("), result.stdout
    assert verdicts[0].endswith("use 1080p or mount the camera closer")
    # Nothing but the font cache matplotlib keeps under $HOME (MediaPipe imports it): no frame, no file of ours.
    written = json.loads(audit_log.read_text())
    assert [path for path in written if "/.cache/matplotlib/" not in path] == [], written


class SeenFromAbove(SceneRenderer):
    """A camera about 35° above the students' head height: every face is seen pitched that far down.

    (Warping the frames with a perspective transform does not do it: locally a warp scales a face
    evenly, which leaves the keypoint ratios head pose is read from nearly unchanged; measured on
    the well-placed scene, the median pitch went from 10° to 5°.)"""

    CAMERA_ELEVATION = 35.0

    def states(self, t):
        return [replace(state, pitch=state.pitch - self.CAMERA_ELEVATION) for state in super().states(t)]


@needs_scene_data
def test_a_class_seen_from_above_is_not_frontal(tmp_path, bank, monkeypatch):
    monkeypatch.setattr(cache, "SceneRenderer", SeenFromAbove)  # render_scene draws with it
    result = surveyed(scene_video(tmp_path, bank, "from-above", **WELL_PLACED))
    assert [f.kind for f in result.verdict.findings] == ["from_above"], result.to_dict()


@needs_scene_data
def test_a_well_placed_camera_is_good_also_for_doctor(tmp_path, bank):
    video = scene_video(tmp_path, bank, "well-placed", **WELL_PLACED)
    result = run_cli(tmp_path, "survey", "--source", video, "--seconds", str(SCENE_SECONDS), "--json")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["verdict"] == {"good": True, "summary": "good placement", "findings": []}
    figures = report["figures"]
    # faces of 45–83 px in the scene; detector boxes are ~0.87 of the drawn face (docs/performance.md)
    assert figures["frames"] == 48 and figures["over_40_share"] > 0.6 and figures["under_24_share"] == 0
    assert figures["faces_per_frame"] >= 8
    check = _placement(Config.model_validate({"source": {"uri": video}}), [Check("source", True, "")])
    assert check.ok and check.detail.endswith("faces per frame: good placement"), check
    skipped = _placement(Config(), [Check("source", False, "cannot open")])
    assert not skipped.ok and not skipped.critical and "not surveyed" in skipped.detail


@needs_scene_data
def test_a_window_behind_the_class_is_backlight(tmp_path, bank):
    result = surveyed(scene_video(tmp_path, bank, "backlit", **{**WELL_PLACED, "backlight": 1.0}))
    assert [f.kind for f in result.verdict.findings] == ["backlit"], result.to_dict()
