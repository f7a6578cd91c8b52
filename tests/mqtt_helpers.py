"""Real Mosquitto brokers and MQTT consumers for the tests."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import jsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.broker import start_mosquitto
from lsi_contract.schemas import SCHEMA_DIR
from tests.mjpeg_server import free_port


class Broker:
    def __init__(self, workdir: Path):
        self.workdir, self.port, self.process = workdir, free_port(), None

    def start(self) -> None:
        # Without mosquitto this fails (scripts/test.sh installs it): a skipped feed test proves nothing.
        self.process = start_mosquitto(self.port, self.workdir)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class Consumer:
    """Subscribes to lsi/# with a persistent session, so a broker restart loses nothing for it."""

    def __init__(self, port: int, topic: str = "lsi/#", client_id: str = "test-consumer"):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload, message.retain))

    def payloads(self, suffix: str) -> list[dict]:
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith("/" + suffix)]

    def raw(self, suffix: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith("/" + suffix)]

    def publish(self, topic: str, payload, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(timeout=5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def wait_for(condition, seconds: float, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def aggregate_fields(device: str, seq: int, lsi: float, start: float, session_id: str | None = None) -> dict:
    """A valid …/aggregate message's fields, as an appliance publishes them."""
    return {"device_id": device, "seq": seq, "session_id": session_id, "window_start": start,
            "window_end": start + 5, "analysis": "expression", "faces": 12.0, "faces_min": 11, "faces_max": 13,
            "faces_read": 10.0, "attention": 0.8, "lsi": lsi, "lsi_low": max(0.0, lsi - 5), "lsi_high": min(100.0, lsi + 5),
            "lsi_std": 8.0, "emotions": {"happy": 0.5, "neutral": 0.3, "sad": 0.1, "surprise": 0.05,
                                         "angry": 0.03, "fear": 0.02, "disgust": 0.0},
            "negative_share": 0.15, "transitions": 2, "change_rate": 0.05, "suppressed": False,
            "expression_suppressed": False, "updates": 40, "segment": None}


def aggregate_payload(device: str, seq: int, lsi: float, start: float, session_id: str | None = None) -> str:
    """A valid …/aggregate message, as an appliance publishes it."""
    return json.dumps(aggregate_fields(device, seq, lsi, start, session_id))


def validate(name: str, payload: dict) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    jsonschema.validate(payload, schema)
