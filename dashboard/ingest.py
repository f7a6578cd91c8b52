"""Feed → dashboard database. Idempotent on (device, seq), so replays and restarts never double-count."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dashboard.config import DashboardConfig
from dashboard.models import AlertRecord, Room, SegmentRecord, SessionRecord, WindowRecord
from edge.mqtt.link import contained, read_password_file

log = logging.getLogger("lsi_dashboard.ingest")


class EventHub:
    """In-process fan-out of 'something changed in room X' to server-sent-event streams."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queues: set[queue.Queue] = set()

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=100)
        with self._lock:
            self._queues.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._queues.discard(q)

    def publish(self, device_id: str, kind: str) -> None:
        with self._lock:
            targets = list(self._queues)
        for q in targets:
            try:
                q.put_nowait((device_id, kind))
            except queue.Full:  # a stalled browser must not hold the feed up
                pass


class Ingest:
    def __init__(self, sessions, hub: EventHub, cfg: DashboardConfig):
        self.sessions, self.hub, self.prefix = sessions, hub, cfg.topic_prefix
        self._results: dict[str, dict] = {}
        self._waiters: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        # A persistent session under a stable client id: the broker queues the feed while the
        # dashboard is stopped and delivers it on the next start.
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.mqtt_client_id, clean_session=False)
        if cfg.mqtt_username:
            self.client.username_pw_set(cfg.mqtt_username, read_password_file(cfg.mqtt_password_file))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self.host, self.port = cfg.mqtt_host, cfg.mqtt_port
        self.errors = 0
        self.callback_errors = 0

    def start(self) -> None:
        self.client.connect_async(self.host, self.port)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    @contained
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if not reason_code.is_failure:
            client.subscribe(f"{self.prefix}/+/+", qos=1)
            client.subscribe(f"{self.prefix}/+/cmd/result", qos=1)
            log.info("dashboard feed connected to %s:%d", self.host, self.port)

    @contained
    def _on_message(self, _client, _userdata, message) -> None:
        parts = message.topic.split("/")
        if len(parts) < 3 or parts[0] != self.prefix:
            return
        device, kind = parts[1], "/".join(parts[2:])
        try:
            if kind == "availability":
                self._room(device, availability=message.payload.decode("utf-8", "replace")[:16])
            else:
                payload = json.loads(message.payload)
                if not isinstance(payload, dict):
                    return
                handler = {"aggregate": self._window, "segment": self._segment, "alert": self._alert,
                           "state": self._state, "stats": self._stats, "cmd/result": self._result}.get(kind)
                if handler is None:
                    return
                handler(device, payload)
        except Exception:  # one bad message must not stop the feed
            self.errors += 1
            if self.errors <= 3:
                log.exception("could not ingest %s", message.topic)
            return
        self.hub.publish(device, kind)

    def _room(self, device: str, **values) -> None:
        with self.sessions.begin() as db:
            room = db.get(Room, device)
            if room is None:
                room = Room(device_id=device, name=device)
                db.add(room)
            for key, value in values.items():
                setattr(room, key, value)
            room.last_seen = time.time()

    def _insert(self, row) -> bool:
        try:
            with self.sessions.begin() as db:
                db.add(row)
            return True
        except IntegrityError:
            return False  # already stored: a replay

    def _window(self, device: str, p: dict) -> None:
        self._room(device)
        session_id = p.get("session_id")
        if session_id:
            self._insert(SessionRecord(id=session_id, device_id=device, label="", started_at=p["window_start"]))
        self._insert(WindowRecord(device_id=device, seq=int(p["seq"]), session_id=session_id,
                                  window_start=float(p["window_start"]), window_end=float(p["window_end"]),
                                  faces=float(p["faces"]), lsi=p.get("lsi"), suppressed=bool(p["suppressed"]),
                                  payload=p))

    def _segment(self, device: str, p: dict) -> None:
        self._insert(SegmentRecord(device_id=device, session_id=p.get("session_id"), kind=p["kind"],
                                   start=float(p["start"]), payload=p))

    def _alert(self, device: str, p: dict) -> None:
        self._insert(AlertRecord(device_id=device, session_id=p.get("session_id"), kind=p["kind"],
                                 timestamp=float(p["timestamp"]), payload=p))

    def _state(self, device: str, p: dict) -> None:
        self._room(device, state=p)
        session = p.get("session")
        with self.sessions.begin() as db:
            if session:
                record = db.get(SessionRecord, session["id"])
                if record is None:
                    db.add(SessionRecord(id=session["id"], device_id=device, label=session.get("label", ""),
                                         started_at=float(p["timestamp"])))
                elif session.get("label") and not record.label:
                    record.label = session["label"]
            open_sessions = db.scalars(select(SessionRecord).where(
                SessionRecord.device_id == device, SessionRecord.ended_at.is_(None))).all()
            for record in open_sessions:
                if not session or record.id != session["id"]:
                    record.ended_at = float(p["timestamp"])

    def _stats(self, device: str, p: dict) -> None:
        self._room(device, stats=p)

    def _result(self, device: str, p: dict) -> None:
        request_id = p.get("request_id")
        with self._lock:
            if request_id in self._waiters:
                self._results[request_id] = p
                self._waiters[request_id].set()

    def send_command(self, device: str, name: str, body: dict, timeout: float = 5.0) -> dict:
        """Publish a command and wait for the device's answer (or report that none came)."""
        request_id = uuid.uuid4().hex[:16]
        done = threading.Event()
        with self._lock:
            self._waiters[request_id] = done
        try:
            info = self.client.publish(f"{self.prefix}/{device}/cmd/{name}",
                                       json.dumps({**body, "request_id": request_id}), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return {"ok": False, "error": "the dashboard is not connected to the broker"}
            if not done.wait(timeout):
                return {"ok": False, "error": f"no answer from {device} within {timeout:g} s (offline?)"}
            with self._lock:
                return self._results.pop(request_id)
        finally:
            with self._lock:
                self._waiters.pop(request_id, None)
