"""The built-in demo classroom plays a lesson whose mood changes, and the real pipeline reads it.

The scripted truth is checked directly (fast); the reading is checked end to end: the pipeline
with the default configuration and the shipped expression model, run over the demo up to the
end of its unhappy phase (195 s of lesson: three to four minutes on two busy cores).
"""

from statistics import mean

import numpy as np
import pytest

from edge.capture.capture import Capture
from edge.capture.demo import EXPRESSIONS, LESSON, LESSON_SECONDS, DemoScene, lesson_phase
from edge.config import Config
from edge.inference import ExpressionClassifier
from edge.pipeline import Pipeline
from edge.sinks import CollectingSink

CALM, AMUSED, UNHAPPY, CALM_AGAIN = LESSON
SETTLE_SECONDS = 10.0  # students take up a phase's mood within 6 s; then one whole 5-s window


def _truth_over_lesson(scene: DemoScene, step: float = 0.5):
    return [(t, scene.render(t)[1]) for t in np.arange(0.0, LESSON_SECONDS, step)]


@pytest.fixture(scope="module")
def truth():
    return _truth_over_lesson(DemoScene())


def test_lesson_phases_follow_each_other():
    assert [phase.name for phase in LESSON] == ["calm", "amused", "unhappy", "calm again"]
    assert all(a.end == b.start for a, b in zip(LESSON, LESSON[1:])) and LESSON[0].start == 0.0
    assert lesson_phase(AMUSED.start + 1.0) == AMUSED
    assert lesson_phase(LESSON_SECONDS + AMUSED.start + 1.0) == AMUSED  # longer scenes repeat the lesson


def test_scripted_class_mood_changes(truth):
    def shares(phase):
        faces = [face for t, frame in truth if phase.start + SETTLE_SECONDS <= t < phase.end for face in frame]
        return {name: sum(face.expression == name for face in faces) / len(faces) for name in EXPRESSIONS}

    assert shares(CALM)["neutral"] >= 0.85 and shares(CALM_AGAIN)["neutral"] >= 0.85
    assert shares(AMUSED)["happy"] >= 0.8
    unhappy = shares(UNHAPPY)
    assert unhappy["sad"] >= 0.3 and unhappy["angry"] >= 0.3 and unhappy["happy"] == 0.0


def test_students_look_down_at_their_desks_now_and_then(truth):
    faces = [face for _, frame in truth for face in frame]
    share = sum(face.head_down for face in faces) / len(faces)
    assert 0.05 <= share <= 0.2, share
    assert {face.ident for face in faces if face.head_down} == {face.ident for face in faces}
    for face in faces:  # the bent head's face is foreshortened, never wider than the upright one
        x0, y0, x1, y1 = face.box
        assert (y1 - y0 < 0.9 * (x1 - x0)) if face.head_down else (y1 - y0 == pytest.approx(x1 - x0))


def test_rendering_is_a_pure_function_of_time():
    scene, other = DemoScene(faces=6), DemoScene(faces=6)
    for t in (3.3, AMUSED.start + 2.21, UNHAPPY.start + 40.0):  # the second one is mid-change for some
        frame, faces = scene.render(t)
        assert np.array_equal(frame, scene.render(t)[0])
        assert np.array_equal(frame, other.render(t)[0]) and faces == other.render(t)[1]
        assert np.array_equal(frame, DemoScene(faces=6, seconds=2 * LESSON_SECONDS).render(t + LESSON_SECONDS)[0])


@pytest.fixture(scope="module")
def lesson_run():
    """Windows and alerts of the default pipeline over the lesson, times in lesson seconds."""
    cfg = Config()
    source = cfg.source.model_copy(update={"uri": f"demo:1280x720:16:{UNHAPPY.end:g}", "loop": False})
    cfg = cfg.model_copy(update={"source": source})
    sink = CollectingSink()
    pipeline = Pipeline(cfg, ExpressionClassifier.load(cfg.classifier.model_path, cfg.classifier.threads), [sink])
    pipeline.run(Capture(cfg.source, cfg.processing.fps, realtime=False))
    start = sink.windows[0].window_start  # the first window opens with the lesson (source time 0)
    windows = [(w.window_start - start, w.window_end - start, w) for w in sink.windows]
    alerts = [(alert.timestamp - start, alert) for alert in sink.alerts]
    return windows, alerts


def _phase_lsi(windows, phase) -> float:
    values = [w.lsi for start, end, w in windows if start >= phase.start + SETTLE_SECONDS and end <= phase.end]
    assert values and None not in values, f"no readings in the {phase.name} phase"
    return mean(values)


@pytest.mark.slow
def test_pipeline_reads_the_lesson_and_alerts_when_the_class_turns_unhappy(lesson_run):
    windows, alerts = lesson_run
    calm, amused, unhappy = (_phase_lsi(windows, phase) for phase in (CALM, AMUSED, UNHAPPY))
    print({"calm": round(calm, 1), "amused": round(amused, 1), "unhappy": round(unhappy, 1),
           "alerts": [(round(t, 1), alert.kind) for t, alert in alerts]})
    assert not any(w.suppressed for _, _, w in windows)
    assert amused - calm >= 20.0
    assert unhappy <= calm - Config().alerts.drop_points  # clearly lower: the drop alert's own margin
    assert not [t for t, _ in alerts if t <= UNHAPPY.start], "an alert before the class turned unhappy"
    drops = [t for t, alert in alerts if alert.kind == "lsi_drop"]
    assert drops and UNHAPPY.start < drops[0] <= UNHAPPY.end
