"""A real Mosquitto run from the project's own broker files (config/mosquitto/lsi-edge.conf and
lsi-edge.acl) as scripts/install.sh installs them, for tests: only the port (127.0.0.1, free),
the password and ACL paths and the persistence folder differ, all inside the test's folder (and
a test may append ACL lines for an observer account).
Device accounts are made with scripts/broker-account.sh, lsi-dashboard with mosquitto_passwd
(as the installer does: the script refuses that name).

    broker = InstalledBroker(tmp_path, {"lsi-dashboard": "pw", "room-a": "pw-a"})
    broker.start()
    dashboard = broker.client("lsi-dashboard", client_id="dashboard")
    dashboard.subscribe_and_wait("lsi/+/+")
    ...
    broker.stop()
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import broker_listening
from edge.paths import REPO_ROOT
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import wait_for

CONFIG = REPO_ROOT / "config" / "mosquitto"
ACCOUNT_SCRIPT = REPO_ROOT / "scripts" / "broker-account.sh"


class RecordingClient(mqtt.Client):
    """A paho client that records its CONNACK reason codes and what it receives as (topic, payload)."""

    def __init__(self, client_id: str, clean: bool):
        super().__init__(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        self.codes: list = []
        self.received: list[tuple[str, bytes]] = []
        self._subacks: dict[int, list] = {}
        self.on_connect = lambda _c, _u, _flags, code, _props: self.codes.append(code)
        self.on_message = lambda _c, _u, message: self.received.append((message.topic, message.payload))
        self.on_subscribe = lambda _c, _u, mid, codes, _props: self._subacks.__setitem__(mid, codes)

    @property
    def connected(self) -> bool:
        return bool(self.codes) and not self.codes[-1].is_failure

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.received]

    def subscribe_and_wait(self, topic: str, qos: int = 1, seconds: float = 5) -> list:
        """Subscribes and returns the SUBACK's reason codes (a failure where the broker refused)."""
        _, mid = self.subscribe(topic, qos=qos)
        wait_for(lambda: mid in self._subacks, seconds, f"SUBACK for {topic}")
        return self._subacks[mid]

    def publish_and_wait(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False,
                         seconds: float = 5) -> None:
        """Publishes and waits for the PUBACK. The broker acknowledges (and drops) what the ACL
        forbids too, but only after queueing whatever it delivers: a message published after this
        one reaches a subscriber after anything of this one."""
        self.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(timeout=seconds)

    def close(self) -> None:
        self.disconnect()
        self.loop_stop()


class InstalledBroker:
    def __init__(self, folder: Path, accounts: dict[str, str], extra_acl: str = ""):
        """extra_acl: lines appended to the ACL, e.g. a test's observer account for topics no
        installed account may read (Home Assistant's discovery topics)."""
        self.folder, self.extra_acl = Path(folder), extra_acl
        self.port = free_port()
        self.passwords = self.folder / "lsi-edge.passwd"
        self.accounts: dict[str, str] = {}
        self.process: subprocess.Popen | None = None
        self._clients: list[RecordingClient] = []
        self._write_config()
        for user, password in accounts.items():
            self.add(user, password)

    def _write_config(self) -> None:
        acl = self.folder / "lsi-edge.acl"
        acl.write_text((CONFIG / "lsi-edge.acl").read_text() + (f"\n{self.extra_acl}\n" if self.extra_acl else ""))
        conf = (CONFIG / "lsi-edge.conf").read_text()
        for installed, here in [("listener 1883", f"listener {self.port} 127.0.0.1"),
                                ("/etc/mosquitto/lsi-edge.passwd", str(self.passwords)),
                                ("/etc/mosquitto/lsi-edge.acl", str(acl))]:
            assert installed in conf, f"lsi-edge.conf no longer has {installed!r}: update {__file__}"
            conf = conf.replace(installed, here)
        # persistence_location as Debian's main file gives it (here: the test's folder); and stay this
        # user (as root, Mosquitto would switch to `mosquitto`, which cannot enter the test's folder).
        (self.folder / "mosquitto.conf").write_text(
            f"persistence_location {self.folder}/\nuser {getpass.getuser()}\n{conf}")

    def account_script(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        """scripts/broker-account.sh on this broker's password file."""
        return subprocess.run([str(ACCOUNT_SCRIPT), *arguments], capture_output=True, text=True, timeout=30,
                              check=check, env={**os.environ, "LSI_BROKER_PASSWD": str(self.passwords)})

    def add(self, user: str, password: str) -> None:
        if user == "lsi-dashboard":
            self.passwords.touch()
            subprocess.run(["mosquitto_passwd", "-b", str(self.passwords), user, password], check=True,
                           capture_output=True, timeout=30)
        else:
            secret = self.folder / f"{user}.password"
            secret.write_text(password + "\n")
            secret.chmod(0o600)
            self.account_script("add", user, str(secret))
        self.accounts[user] = password

    def revoke(self, user: str) -> subprocess.CompletedProcess:
        del self.accounts[user]
        return self.account_script("revoke", user)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        log = open(self.folder / "mosquitto.log", "ab")
        self.process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto",
                                         "-c", str(self.folder / "mosquitto.conf")],
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: broker_listening("127.0.0.1", self.port) or self.process.poll() is not None, 10,
                   "mosquitto to listen")
        assert self.process.poll() is None, (self.folder / "mosquitto.log").read_text()

    def reload(self) -> None:
        """What `systemctl reload mosquitto` does (Debian's unit: SIGHUP): re-read the files."""
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """Stops the broker (it saves its persistence file on the way out); the clients made by
        client() are closed first."""
        while self._clients:
            self._clients.pop().close()  # disconnect() first: loop_stop() alone waits up to a second
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def client(self, user: str | None, password: str | None = None, client_id: str = "", clean: bool = True,
               seconds: float = 10) -> RecordingClient:
        """A client connected (its loop running) once the broker's CONNACK came: check .codes[0]
        (a failure where the log-in was refused). The password defaults to the account's."""
        client = RecordingClient(client_id, clean)
        if user is not None:
            client.username_pw_set(user, self.accounts.get(user, "") if password is None else password)
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        self._clients.append(client)
        wait_for(lambda: client.codes, seconds, f"CONNACK for {user}")
        return client

    def __enter__(self) -> InstalledBroker:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()
