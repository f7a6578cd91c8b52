"""Detection recall and identity switches on the demo classroom, where the truth is known
(the first 40 s of its lesson: calm, with students looking down at their desks now and then).

The figures are printed (pytest -s) and reported in docs/performance.md via
`lsi-edge bench --demo-truth`.
"""

import pytest

from edge.capture.demo import DemoScene
from edge.config import Config
from edge.evaluation.demo_truth import measure_demo


@pytest.mark.parametrize("updates_per_second", [2.0, 4.0])
def test_demo_recall_and_id_switches(updates_per_second):
    cfg = Config()
    cfg = cfg.model_copy(update={"detection": cfg.detection.model_copy(update={"updates_per_second": updates_per_second})})
    result = measure_demo(cfg, DemoScene(width=1280, height=720, faces=16, seconds=40.0))
    print(result)
    assert result["recall"] >= 0.95
    assert result["head_down_faces"] > 0 and result["head_down_recall"] >= 0.8  # students looking at their desks
    assert result["id_switches"] <= 1
    assert result["re_entries"] == 1  # the student who leaves at 20 s and returns at 32 s
    assert result["false_positives_per_update"] <= 0.5
