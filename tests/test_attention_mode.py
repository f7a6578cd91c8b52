"""Attention-only mode (analysis.mode: attention): no expression model is opened, and the windows
carry presence and attention only. For schools in the EU (AI Act Art. 5(1)(f), docs/legal-and-ethics.md)."""

import json
import sys

from edge.paths import MODELS_DIR
from tests.test_run_cli import hermetic_env, windows_of

# Records every file the process opens (Python-level), then runs the CLI.
TRACED_CLI = """
import atexit, json, os, sys
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.path.abspath(os.fsdecode(args[0])))
def save():
    sys.addaudithook(lambda *a: None)
    with open(sys.argv[1], "w") as handle:
        json.dump(opened, handle)
atexit.register(save)
sys.addaudithook(hook)
from edge.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_attention_mode_opens_no_expression_model(tmp_path):
    import subprocess

    absent = tmp_path / "no-such-model.tflite"  # any attempt to load a model would fail on this
    config = tmp_path / "attention.yaml"
    config.write_text(f"analysis:\n  mode: attention\nclassifier:\n  model: {absent}\n"
                      "mqtt:\n  enabled: false\nhealth:\n  port: 0\n")
    opened_log = tmp_path / "opened.json"
    result = subprocess.run(
        [sys.executable, "-c", TRACED_CLI, str(opened_log), "run", "--config", str(config),
         "--source", "demo:1280x720:8:16", "--print", "--no-realtime"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=hermetic_env(tmp_path))
    windows = windows_of(result)
    assert len(windows) >= 3
    for window in windows:
        assert window["analysis"] == "attention" and window["expression_suppressed"]
        assert window["lsi"] is None and window["emotions"] is None and window["negative_share"] is None
        assert window["lsi_low"] is None and window["faces_read"] in (None, 0.0)
    present = [w for w in windows if not w["suppressed"]]
    assert present and all(w["faces"] >= 5 and 0.0 <= w["attention"] <= 1.0 for w in present)
    opened = json.loads(opened_log.read_text())
    models = [p for p in opened if p.startswith(str(MODELS_DIR)) or p.startswith(str(absent))]
    assert not models, f"attention mode opened expression-model files: {models}"


def test_doctor_in_attention_mode_does_not_check_the_model(tmp_path):
    from edge.config import load_config
    from edge.doctor import _classifier

    config = tmp_path / "attention.yaml"
    config.write_text(f"analysis:\n  mode: attention\nclassifier:\n  model: {tmp_path / 'absent.tflite'}\n")
    check = _classifier(load_config(config))
    assert check.ok and "not used" in check.detail
