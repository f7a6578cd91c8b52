"""`lsi-edge doctor`: names what is wrong, and changes nothing while looking."""

from edge.config import Config
from edge.doctor import run_checks
from edge.storage.store import Store
from tests.mjpeg_server import free_port
from tests.test_run_cli import run_cli


def test_doctor_passes_on_this_installation_and_names_failures(tmp_path):
    cfg = Config.model_validate({"source": {"uri": "demo:320x240:2:1"},
                                 "storage": {"url": f"sqlite:///{tmp_path / 'd.db'}"},
                                 "mqtt": {"port": free_port()}})
    checks = {c.name: c for c in run_checks(cfg)}
    for name in ("one headless OpenCV", "expression model", "BlazeFace face detectors", "source",
                 "database", "command token", "disk", "clock"):
        assert checks[name].ok or not checks[name].critical, checks[name]
    assert "does not exist yet" in checks["database"].detail and not (tmp_path / "d.db").exists()
    Store(cfg.storage.url, cfg.device_id).close()  # a database as a run leaves it
    before = sorted(tmp_path.iterdir())
    database = next(c for c in run_checks(cfg) if c.name == "database")
    assert database.ok and database.detail == "schema current" and sorted(tmp_path.iterdir()) == before
    assert not checks["MQTT broker"].ok and checks["MQTT broker"].critical  # expected, so unreachable is a failure
    broken = run_checks(cfg.model_copy(update={"source": cfg.source.model_copy(update={"uri": "/nope.mp4"})}))
    source = next(c for c in broken if c.name == "source")
    assert not source.ok and "source.uri" in source.detail


def test_doctor_without_camera_or_broker_names_both_exits_non_zero_and_leaves_nothing(tmp_path):
    config = tmp_path / "edge.yaml"
    config.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {free_port()}\n")
    result = run_cli(tmp_path, "doctor", "--config", str(config), "--source", "0")
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    failures = [line for line in result.stdout.splitlines() if line.startswith("[FAIL]")]
    assert any("source" in line for line in failures) and any("MQTT broker" in line for line in failures), failures
    assert [p for p in tmp_path.rglob("*")] == [config]  # its home and data directory are this folder
