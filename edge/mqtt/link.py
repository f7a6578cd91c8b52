"""The MQTT link: availability, retained state, and the store-and-forward publisher.

The pipeline never waits for the network: it commits to the Store and nudges this link. A
dispatcher thread publishes the outbox in order with QoS 1 and marks each message delivered when
its PUBACK arrives. On reconnect the unacknowledged backlog is replayed from the oldest (a message
whose PUBACK was lost may arrive twice; consumers de-duplicate by `seq`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import ssl
import threading
import time
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import MqttConfig
from edge.storage.store import Store
from lsi_contract.credentials import read_secret_file
from lsi_contract.topics import Topics

log = logging.getLogger("lsi_edge.mqtt")

CommandHandler = Callable[[str, bytes], dict]


def read_password(cfg: MqttConfig) -> str | None:
    if cfg.password_file is not None:
        return read_secret_file(cfg.password_file)
    return os.environ.get(cfg.password_env) or None


def contained(callback):
    """For callbacks that run in paho's network thread: an exception escaping one ends that thread,
    and with it every answer, publication and reconnect. Log it (rate-limited), count it, carry on."""
    @functools.wraps(callback)
    def run_contained(self, *args):
        try:
            return callback(self, *args)
        except Exception:
            self.callback_errors += 1
            log.exception("MQTT callback %s failed; the connection carries on", callback.__name__)
    return run_contained


class MqttLink:
    def __init__(self, cfg: MqttConfig, device_id: str, store: Store, on_command: CommandHandler):
        self.cfg, self.store, self.on_command = cfg, store, on_command
        self.topics = Topics(cfg.topic_prefix, device_id)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id or f"lsi-edge-{device_id}",
                                  clean_session=True)
        if cfg.username:
            self.client.username_pw_set(cfg.username, read_password(cfg))
        if cfg.tls is not None:
            self.client.tls_set(ca_certs=str(cfg.tls.ca_file) if cfg.tls.ca_file else None,
                                certfile=str(cfg.tls.cert_file) if cfg.tls.cert_file else None,
                                keyfile=str(cfg.tls.key_file) if cfg.tls.key_file else None,
                                cert_reqs=ssl.CERT_REQUIRED)
            self.client.tls_insecure_set(cfg.tls.insecure)
        self.client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=int(cfg.reconnect_max_seconds))
        self.client.max_inflight_messages_set(cfg.max_inflight)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_connect_fail = self._on_connect_fail
        self.connect_failures = 0
        self.callback_errors = 0
        self.connected = False
        self.connects = 0
        self.sent = 0  # outbox messages handed to the client, replays included
        self.published = 0  # … and acknowledged by the broker
        self._lock = threading.Lock()
        self._inflight: dict[int, int] = {}  # MQTT mid → outbox id
        self._volatile: set[int] = set()  # mids of state/stats/results: their acks mean nothing here
        self._early: set[int] = set()  # acks that beat the recording of their mid
        self._last_sent = 0  # outbox id of the newest message handed to the client
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="mqtt-dispatch", daemon=True)
        self.discovery: Callable[[], list[tuple[str, str]]] | None = None

    @property
    def reconnects(self) -> int:
        return max(0, self.connects - 1)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        log.info("MQTT broker %s:%d%s as %s", self.cfg.host, self.cfg.port, " (TLS)" if self.cfg.tls else "",
                 self.cfg.username or "anonymous")
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive)
        self.client.loop_start()
        self._dispatcher.start()

    def stop(self, drain_seconds: float = 2.0) -> None:
        """Clean shutdown: give the backlog a moment, announce `stopped`, disconnect."""
        deadline = time.monotonic() + drain_seconds
        while self.connected and time.monotonic() < deadline and (self._inflight or self.store.pending(limit=1)):
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self.connected:
            info = self.client.publish(self.topics.availability, "stopped", qos=1, retain=True)  # last word
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self._dispatcher.join(timeout=2.0)

    def notify(self) -> None:
        """New rows in the outbox."""
        self._wake.set()

    # -- callbacks (paho's network thread) -----------------------------------------------------
    @contained
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connection refused: %s", reason_code)
            return
        self.connects += 1
        self.connect_failures = 0
        with self._lock:
            self._inflight.clear()
            self._early.clear()
            self._last_sent = 0  # replay everything not yet acknowledged, oldest first
        self.connected = True
        log.info("MQTT connected (%s)", "first time" if self.connects == 1 else f"reconnect {self.reconnects}")
        self._publish_volatile(self.topics.availability, "online", retain=True)
        client.subscribe(self.topics.command_filter, qos=1)
        if self.discovery is not None:
            for topic, payload in self.discovery():
                self._publish_volatile(topic, payload, retain=True)
        self._wake.set()

    @contained
    def _on_connect_fail(self, _client, _userdata) -> None:
        self.connect_failures += 1
        if self.connect_failures == 1:  # once: the outage may last hours
            log.warning("MQTT broker %s:%d unreachable; retrying with backoff, windows wait in the outbox",
                        self.cfg.host, self.cfg.port)

    @contained
    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        if self.connected and not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting with backoff, the outbox keeps every message",
                        reason_code)
        self.connected = False
        with self._lock:
            self._inflight.clear()
            self._volatile.clear()
            self._early.clear()

    @contained
    def _on_publish(self, _client, _userdata, mid, _reason_code, _properties) -> None:
        # Runs inside paho's outgoing-message lock: never call into the client from here.
        with self._lock:
            outbox_id = self._inflight.pop(mid, None)
            if outbox_id is None:
                if mid in self._volatile:
                    self._volatile.discard(mid)
                else:
                    self._early.add(mid)
        if outbox_id is not None:
            self.store.mark_delivered([outbox_id])
            self.published += 1
            self._wake.set()

    @contained
    def _on_message(self, client, _userdata, message) -> None:
        if message.topic == self.topics.command_result:
            return
        name = self.topics.command_name(message.topic)
        result = self.on_command(name, message.payload)
        self._publish_volatile(self.topics.command_result, json.dumps(result))

    # -- publishing ----------------------------------------------------------------------------
    def _dispatch(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self._publish_backlog()
            except Exception:  # a database hiccup must not end publishing for good
                log.exception("publishing the outbox failed; retrying")
                self._stop.wait(1.0)

    def _publish_backlog(self) -> None:
        while self.connected and not self._stop.is_set():
            with self._lock:
                room = self.cfg.max_inflight - len(self._inflight)
                after = self._last_sent
            if room <= 0:
                return
            batch = self.store.pending(after_id=after, limit=room)
            if not batch:
                return
            for message in batch:
                if not self.connected:
                    return
                # Not under self._lock: paho calls on_publish while holding its own lock.
                info = self.client.publish(self.topics.leaf(message.topic), message.payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    return
                self.sent += 1
                with self._lock:
                    acked_already = info.mid in self._early
                    self._early.discard(info.mid)
                    if not acked_already:
                        self._inflight[info.mid] = message.id
                    self._last_sent = message.id
                if acked_already:
                    self.store.mark_delivered([message.id])
                    self.published += 1

    def publish_now(self, topic: str, payload: dict, retain: bool = False) -> None:
        """Volatile messages (state, stats): latest value only, never stored."""
        if self.connected:
            self._publish_volatile(topic, json.dumps(payload), retain=retain)

    def _publish_volatile(self, topic: str, payload: str, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
            else:
                self._volatile.add(info.mid)
