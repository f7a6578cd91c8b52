"""`lsi-edge up` on a single box: start a private Mosquitto when none is listening."""

from __future__ import annotations

import contextlib
import getpass
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from edge.config import MqttConfig

log = logging.getLogger("lsi_edge.broker")


def broker_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_mosquitto(port: int, bind: str = "127.0.0.1", workdir: Path | None = None,
                    persistent: bool = False) -> subprocess.Popen:
    """A Mosquitto process on bind:port with anonymous access (loopback by default).

    persistent keeps sessions and queued QoS 1 messages in workdir across restarts.
    """
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        raise FileNotFoundError("mosquitto not found: install it (apt-get install mosquitto) or point "
                                "mqtt.host at a broker")
    folder = Path(workdir or tempfile.mkdtemp(prefix="lsi-mosquitto-"))
    conf = folder / "mosquitto.conf"
    persistence = (f"persistence true\npersistence_location {folder}/\nautosave_interval 1\n"
                   if persistent else "persistence false\n")
    # Stay this user: started as root, Mosquitto would switch to `mosquitto`, which cannot write
    # the persistence files in a folder of ours.
    conf.write_text(f"listener {port} {bind}\nallow_anonymous true\nuser {getpass.getuser()}\n{persistence}"
                    "log_dest stderr\nlog_type error\nlog_type warning\n")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10.0
    while not broker_listening(bind, port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"mosquitto did not start on {bind}:{port}: "
                               f"{process.stderr.read().decode(errors='replace')[-500:]}")
        time.sleep(0.05)
    return process


@contextlib.contextmanager
def local_broker(cfg: MqttConfig):
    """Yield with a broker reachable at cfg.host:cfg.port, starting one when it is local and absent."""
    process = None
    local = cfg.host in ("localhost", "127.0.0.1", "::1")
    if cfg.enabled and local and not broker_listening(cfg.host, cfg.port):
        try:
            process = start_mosquitto(cfg.port)
            log.info("started a local Mosquitto on 127.0.0.1:%d (watch: mosquitto_sub -v -t '%s/#' -p %d)",
                     cfg.port, cfg.topic_prefix, cfg.port)
        except (FileNotFoundError, RuntimeError) as error:
            log.warning("%s; the appliance stores everything and publishes once a broker is reachable", error)
    try:
        yield process
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=5)
