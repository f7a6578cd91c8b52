"""Scripted classrooms with known truth: the scenario set, the renderer and `lsi-edge eval --scenario`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edge.paths import shared_dir
from edge.scenes.render import FaceBank, SceneRenderer
from edge.scenes.script import ScenarioError, load_scenario, load_scenarios
from edge.scenes.timeline import plan_students, state_at
from tests.conftest import needs_scene_data

SHARED = shared_dir()

SHORT_SCENE = """
name: ci-short
description: six students sitting still, a joke from 8 to 14 s
seed: 9
seconds: 20
students: 6
room: {width: 960, height: 540, fps: 8, rows: 2, near_face_px: 84, far_face_px: 62}
camera: {blur_sigma: 0.5, noise_sigma: 2.0, video_quality: 75, lighting_drift: 0.05}
mood: {neutral: 1.0}
mood_change_seconds: 60
events:
  - {label: joke, start: 8, end: 14, mood: {happy: 1.0}, share: 1.0, onset_spread: 0.5}
heads_down: {share: 0.0}
turned_away: {share: 0.0}
occlusions: {share: 0.0}
blips: {share: 0.0}
"""


def test_scenario_set_meets_the_stated_mix():
    """≥ 4 minutes in all, ≥ 30 % of face-time at ≤ 40 px, ≥ 20 % heads down (from the timelines alone)."""
    scenarios = load_scenarios("all")
    assert {"calm-lecture", "group-work", "exam", "lively-discussion", "mixed-mood"} <= {s.name for s in scenarios}
    assert sum(s.seconds for s in scenarios) >= 240
    total = small = down = 0
    for scenario in scenarios:
        plans = plan_students(scenario)
        room = scenario.room
        for index in range(int(scenario.seconds * room.fps)):
            for plan in plans:
                state = state_at(plan, index / room.fps, room.width)
                if state is not None and state.in_frame(room.width, room.height):
                    total += 1
                    small += state.size <= 40
                    down += state.pitch < -25
    assert small / total >= 0.30 and down / total >= 0.20


def test_bad_scenario_names_the_problem(tmp_path):
    with pytest.raises(ScenarioError, match="not found; known: calm-lecture"):
        load_scenario("no-such-scene")
    path = tmp_path / "bad.yaml"
    path.write_text(SHORT_SCENE.replace("neutral: 1.0", "bored: 1.0"))
    with pytest.raises(ScenarioError, match="unknown class"):
        load_scenario(path)


def test_timeline_truth_follows_the_script(tmp_path):
    path = tmp_path / "ci-short.yaml"
    path.write_text(SHORT_SCENE)
    scenario = load_scenario(path)
    plans = plan_students(scenario)
    assert all(state_at(p, 4.0, 960).label == 6 for p in plans)  # neutral before the joke
    assert all(state_at(p, 12.0, 960).label == 3 for p in plans)  # happy during it
    assert all(state_at(p, t, 960).readable for p in plans for t in np.arange(0, 20, 0.5))


def test_agreed_labels_keep_faces_whose_label_most_annotators_chose():
    from edge.datasets import agreed_labels

    votes = np.array([[0.6, 0.1, 0.1, 0.1, 0.1, 0.0, 0.0],  # label 0 leads: agreed
                      [0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6],  # annotators saw neutral: not agreed
                      [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5],  # a tie is no agreement
                      [np.nan] * 7,  # no valid votes (a non-exact row)
                      [0.0, 0.0, 0.3, 0.0, 0.2, 0.0, 0.0]], np.float32)  # fear leads among few votes
    labels = np.array([0, 0, 0, 0, 2])
    assert agreed_labels(labels, votes).tolist() == [True, False, False, False, True]


@needs_scene_data
def test_scene_faces_carry_labels_fer_plus_agrees_with():
    from edge.datasets import agreed_labels, load_fer2013

    test = load_fer2013(SHARED)["test"]
    bank = FaceBank.from_shared(SHARED)
    agreed = agreed_labels(test.labels, test.ferplus)
    assert all(agreed[bank.by_class[k]].all() and len(bank.by_class[k]) >= 15 for k in range(7))


@needs_scene_data
def test_rendering_is_deterministic(tmp_path):
    path = tmp_path / "ci-short.yaml"
    path.write_text(SHORT_SCENE)
    scenario = load_scenario(path)
    bank = FaceBank.from_shared(SHARED)
    first, second = SceneRenderer(scenario, bank), SceneRenderer(scenario, bank)
    for index in (0, 37, 101):
        assert np.array_equal(first.render(index).image, second.render(index).image)


@needs_scene_data
def test_eval_scenario_on_a_short_scene(tmp_path):
    """The real pipeline on a short rendered scene: every metric computed and sane."""
    path = tmp_path / "ci-short.yaml"
    path.write_text(SHORT_SCENE)
    page = tmp_path / "out" / "evaluation.md"
    env = {**os.environ, "LSI_EDGE_SHARED": str(SHARED)}
    completed = subprocess.run(
        [sys.executable, "-m", "edge.cli", "eval", "--scenario", str(path), "--page", str(page),
         "--scene-cache", str(tmp_path / "cache"), "--no-ablations"],
        capture_output=True, text=True, env=env, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "rendering ci-short" in completed.stderr  # progress while it runs
    result = json.loads((tmp_path / "out" / "evaluation" / "results.json").read_text())
    overall = result["overall"]
    assert overall["detection"]["recall"][">50"] >= 0.9
    assert overall["detection"]["precision"]["all"] >= 0.95
    assert overall["tracking"]["id_switches"] == 0  # six students who sit still keep their ids
    assert overall["tracking"]["idf1"] >= 0.8
    assert 0 <= overall["windows"]["attention_mae"] <= 0.2 and overall["gate"]["read_share_of_readable"] > 0.5
    windows = overall["windows"]
    assert windows["windows"] == 4 and windows["suppressed"] == 0  # 20 s of 5-s windows, aligned
    assert windows["compared"] >= 3  # a window may keep only presence and attention (fewer readable faces)
    assert -1.0 <= windows["lsi_r"] <= 1.0 and 0 <= windows["lsi_mae"] <= 100
    assert 0 <= windows["share_mae"] <= 1
    assert 0 <= overall["faces"]["frame_accuracy"] <= 1
    flips = overall["flips"]
    assert flips["face_minutes"] > 1.0 and flips["flips_per_minute"] <= flips["frame_flips_per_minute"]
    assert overall["lag"]["steps"] >= 1 and 0 <= overall["lag"]["lag_seconds"] <= 3.5
    assert len(result["sweep"]) >= 6 and (tmp_path / "out" / "evaluation" / "flip-vs-lag.png").is_file()
    text = page.read_text()
    assert "## Shipped settings" in text and "IDF1" in text and "flip rate against lag" in text

    # Deterministic: the same scene (now from the cache) gives the same figures.
    again = tmp_path / "again" / "evaluation.md"
    completed = subprocess.run(
        [sys.executable, "-m", "edge.cli", "eval", "--scenario", str(path), "--page", str(again),
         "--scene-cache", str(tmp_path / "cache"), "--no-ablations", "--no-sweep"],
        capture_output=True, text=True, env=env, timeout=900)
    assert completed.returncode == 0, completed.stderr[-3000:]
    repeated = json.loads((tmp_path / "again" / "evaluation" / "results.json").read_text())
    assert repeated["overall"] == result["overall"]
