"""The README's command example on `lsi-edge up`: obeyed with the token `lsi-edge token` prints,
refused with a reason without it; a rotated token applies at once."""

import json
import shutil
import signal
import subprocess
import sys

from edge.broker import broker_listening
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import Consumer, wait_for
from tests.test_run_cli import hermetic_env, run_cli


def _publish(port: int, message: str) -> None:
    """mosquitto_pub as the README shows it (with the port of this test's broker)."""
    mosquitto_pub = shutil.which("mosquitto_pub")
    assert mosquitto_pub, "mosquitto-clients not installed: run scripts/test.sh"
    subprocess.run([mosquitto_pub, "-p", str(port), "-q", "1", "-t", "lsi/lsi-edge/cmd/session/start", "-m", message],
                   check=True, timeout=30)


def test_the_readme_command_needs_the_token_lsi_edge_token_prints(tmp_path):
    port = free_port()
    config = tmp_path / "up.yaml"
    config.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {port}\n  state_seconds: 1\nhealth:\n  port: 0\n")
    up = subprocess.Popen([sys.executable, "-m", "edge.cli", "up", "--config", str(config), "--source",
                           "demo:640x360:6:600"], cwd=tmp_path, env=hermetic_env(tmp_path),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: broker_listening("127.0.0.1", port) or up.poll() is not None, 60, "the broker up starts")
        assert up.poll() is None, up.stderr.read()[-2000:]
        answers = Consumer(port, topic="lsi/lsi-edge/cmd/result", client_id="readme-reader")
        wait_for(lambda: answers.client.is_connected(), 10, "the reader")
        printed = run_cli(tmp_path, "token", "--config", str(config))
        assert printed.returncode == 0, printed.stderr
        token = printed.stdout.strip()
        assert len(token) >= 32 and (tmp_path / "data" / "command-token").read_text().strip() == token

        def answered(request_id: str, message: dict) -> dict:
            # Until the box has subscribed, a command finds nobody: send it again.
            def arrived():
                found = [a for a in answers.payloads("cmd/result") if a["request_id"] == request_id]
                if not found:
                    _publish(port, json.dumps({**message, "request_id": request_id}))
                return found
            wait_for(arrived, 60, f"the answer to {request_id}")
            return arrived()[0]

        refused = answered("no-token", {"label": "Maths 7B"})
        assert not refused["ok"] and refused["error"].startswith("unauthorised: missing or wrong token")
        assert answered("with-token", {"label": "Maths 7B", "token": token})["ok"]

        rotated = run_cli(tmp_path, "token", "--config", str(config), "--rotate").stdout.strip()
        assert rotated != token
        assert not answered("old-token", {"label": "Physics", "token": token})["ok"]
        assert answered("new-token", {"label": "Physics", "token": rotated})["ok"]
        answers.close()
    finally:
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=60)
    assert not broker_listening("127.0.0.1", port)  # up stops the broker it started


def test_lsi_edge_dashboard_runs_the_dashboard_s_own_program_for_this_box(tmp_path):
    result = run_cli(tmp_path, "dashboard", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: lsi-dashboard") and "--local-device-id" in result.stdout
