from edge.config import Config
from edge.doctor import run_checks


def test_doctor_passes_on_this_installation_and_names_failures(tmp_path):
    cfg = Config.model_validate({"source": {"uri": "demo:320x240:2:1"},
                                 "storage": {"url": f"sqlite:///{tmp_path / 'd.db'}"},
                                 "mqtt": {"port": 1}})
    checks = {c.name: c for c in run_checks(cfg)}
    for name in ("one headless OpenCV", "expression model", "MediaPipe full-range face detector", "source",
                 "database"):
        assert checks[name].ok, checks[name]
    assert not checks["MQTT broker"].ok and not checks["MQTT broker"].critical
    broken = run_checks(cfg.model_copy(update={"source": cfg.source.model_copy(update={"uri": "/nope.mp4"})}))
    source = next(c for c in broken if c.name == "source")
    assert not source.ok and "source.uri" in source.detail
