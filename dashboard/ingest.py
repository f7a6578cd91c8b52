"""Feed → dashboard database, through the contract (lsi_contract) and the registry of devices.

A message is stored only when its device is approved and the contract accepts it; everything
else is refused, counted by device and reason (/metrics) and logged once per device and reason
per interval. Storing is idempotent on (device, seq), so replays and restarts never double-count.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
import uuid
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dashboard.config import DashboardConfig
from dashboard.metrics import FeedMetrics
from dashboard.models import APPROVED, WAITING, AlertRecord, Room, SegmentRecord, SessionRecord, WindowRecord
from lsi_contract.commands import build_command
from lsi_contract.credentials import read_secret_file
from lsi_contract.payloads import (
    Aggregate,
    AlertPayload,
    Availability,
    CommandResult,
    Refused,
    SegmentEnd,
    State,
    Stats,
    parse_message,
)
from lsi_contract.topics import (
    AGGREGATE,
    ALERT,
    AVAILABILITY,
    COMMAND_RESULT,
    SEGMENT,
    STATE,
    STATS,
    Topics,
    feed_filters,
    split_topic,
    valid_device_id,
)

log = logging.getLogger("lsi_dashboard.ingest")

# Refusals of the dashboard's own, beside the contract's (lsi_contract.payloads.REFUSAL_REASONS).
BAD_DEVICE_ID, NOT_APPROVED, TOO_MANY_WAITING, WRONG_DEVICE_RESULT = (
    "bad_device_id", "not_approved", "too_many_waiting", "result_from_another_device")


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


class RefusalLog:
    """Logs a refusal once per (device, reason) per interval; the counter has them all."""

    def __init__(self, interval: float):
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def __call__(self, device: str, reason: str, detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get((device, reason), -self.interval) < self.interval:
                return
            if len(self._last) > 10_000:  # a flood of made-up ids must not grow this forever
                self._last.clear()
            self._last[(device, reason)] = now
        log.warning("refused a message from device %r (%s): %s; more like it in the next %.0f s are only "
                    "counted (/metrics)", device[:64], reason, detail, self.interval,
                    extra={"repeat_key": ("refused", device, reason)})


class Backoff:
    """Delays between recoveries: doubling while storing keeps failing, reset by a success; one
    recovery at a time."""

    def __init__(self, first: float, longest: float):
        self.first, self.longest = first, longest
        self._next, self._running, self.failing = first, False, False
        self._lock = threading.Lock()

    def failed(self) -> float | None:
        with self._lock:
            self.failing = True
            if self._running:
                return None
            self._running = True
            delay, self._next = self._next, min(self._next * 2, self.longest)
            return delay

    def done(self) -> None:
        with self._lock:
            self._running = False

    def succeeded(self) -> None:
        with self._lock:
            self._next, self.failing = self.first, False


@dataclass
class _Waiter:
    device: str
    done: threading.Event
    result: dict | None = None


class Ingest:
    def __init__(self, sessions, hub: EventHub, cfg: DashboardConfig, metrics: FeedMetrics):
        self.sessions, self.hub, self.cfg, self.metrics = sessions, hub, cfg, metrics
        self.prefix = cfg.topic_prefix
        self._refusal_log = RefusalLog(cfg.refusal_log_seconds)
        self._waiters: dict[str, _Waiter] = {}
        self._lock = threading.Lock()
        # A persistent session under a stable client id: the broker queues the feed while the
        # dashboard is stopped and delivers it on the next start.
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.mqtt_client_id, clean_session=False,
                                  manual_ack=True)
        if cfg.mqtt_username:
            password = read_secret_file(cfg.mqtt_password_file) if cfg.mqtt_password_file else None
            self.client.username_pw_set(cfg.mqtt_username, password)
        if cfg.mqtt_ca_file is not None:
            self.client.tls_set(ca_certs=str(cfg.mqtt_ca_file),
                                certfile=str(cfg.mqtt_cert_file) if cfg.mqtt_cert_file else None,
                                keyfile=str(cfg.mqtt_key_file) if cfg.mqtt_key_file else None,
                                cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self.host, self.port = cfg.mqtt_host, cfg.mqtt_port
        self.stopped = threading.Event()
        self._recovery = Backoff(1.0, 30.0)
        self.last_lag: float | None = None  # seconds from a window's end to its storing, the latest
        self._handlers = {AVAILABILITY: self._availability, AGGREGATE: self._window, SEGMENT: self._segment,
                          ALERT: self._alert, STATE: self._state, STATS: self._stats, COMMAND_RESULT: self._result}
        if cfg.local_device_id:
            self._approve_local(cfg.local_device_id)

    def start(self) -> None:
        self.client.connect_async(self.host, self.port)
        self.client.loop_start()

    def stop(self) -> None:
        """Ends the feed: the message being stored is finished (and acknowledged), the rest stays
        queued at the broker for the next start."""
        self.stopped.set()
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    @property
    def storing_fails(self) -> bool:
        return self._recovery.failing

    # -- the registry --------------------------------------------------------------------------
    def _approve_local(self, device: str) -> None:
        """The appliance on this machine is approved by itself (unless an admin rejected it)."""
        with self.sessions.begin() as db:
            room = db.get(Room, device)
            if room is None:
                db.add(Room(device_id=device, name=device, approval=APPROVED, first_seen=time.time()))
            elif room.approval == WAITING:
                room.approval = APPROVED

    def _admit(self, db, device: str, leaf: str, now: float) -> str | None:
        """None when the device is approved; else the reason its message is refused. An unknown
        device is listed as waiting for approval, with what it sends counted by topic."""
        room = db.get(Room, device)
        if room is not None and room.approved:
            room.last_seen = now
            return None
        if room is None:
            waiting = db.scalar(select(func.count()).select_from(Room).where(Room.approval == WAITING))
            if waiting >= self.cfg.max_waiting_devices:
                return TOO_MANY_WAITING
            room = Room(device_id=device, name=device, approval=WAITING, first_seen=now, received={})
            db.add(room)
            log.info("device %r is waiting for approval (admin page)", device)
        received = dict(room.received or {})
        received[leaf] = received.get(leaf, 0) + 1
        room.received, room.last_seen = received, now
        return NOT_APPROVED if room.approval == WAITING else room.approval

    def _refuse(self, device: str, reason: str, detail: str) -> None:
        self.metrics.refused(device, reason)
        self._refusal_log(device, reason, detail)

    # -- messages (paho's network thread) ------------------------------------------------------
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("dashboard feed: the broker %s:%d refused the connection: %s", self.host, self.port,
                        reason_code)
            return
        for topic in feed_filters(self.prefix):
            client.subscribe(topic, qos=1)
        log.info("dashboard feed connected to %s:%d", self.host, self.port)

    def _on_message(self, client, _userdata, message) -> None:
        """Acknowledged to the broker only once stored (or refused for good): a message that could
        not be stored stays the broker's, which sends it again after the reconnect below."""
        try:
            self._ingest(message.topic, message.payload)
        except IntegrityError:
            pass  # stored meanwhile by another worker: a replay
        except Exception as error:  # a database outage or a bug must not end the feed thread
            self.metrics.errors += 1
            log.error("could not store a message on %s (%s: %s); not acknowledged: the broker keeps it and "
                      "sends it again", message.topic[:120], type(error).__name__, str(error)[:200],
                      extra={"repeat_key": ("store-failed", type(error).__name__)})
            self._recover()
            return
        self._recovery.succeeded()
        client.ack(message.mid, message.qos)

    def _recover(self) -> None:
        """Reconnect after a back-off, so that the broker resends what was not acknowledged (MQTT
        resends unacknowledged messages of a persistent session on reconnect)."""
        delay = self._recovery.failed()
        if delay is None:
            return  # a reconnect is already on its way
        def reconnect():
            self.client.disconnect()
            self.client.loop_stop()
            if not self.stopped.wait(delay):
                self.client.connect_async(self.host, self.port)
                self.client.loop_start()
            self._recovery.done()
        threading.Thread(target=reconnect, name="feed-recovery", daemon=True).start()

    def _ingest(self, topic: str, payload: bytes) -> None:
        parts = split_topic(self.prefix, topic)
        if parts is None:
            return  # not a feed topic (the subscriptions make this rare)
        device, leaf = parts
        if not valid_device_id(device):
            self._refuse("unregistered", BAD_DEVICE_ID, f"{device[:64]!r} is not a valid device id")
            return
        now = time.time()
        with self.sessions.begin() as db:  # one transaction: the message is stored whole or not at all
            refusal = self._admit(db, device, leaf, now)
            if refusal is None:
                try:
                    parsed = parse_message(leaf, device, payload, now)
                except Refused as refused:
                    refusal = refused.reason
                    detail = f"{leaf}: {refused.detail}"
                else:
                    self._handlers[leaf](db, device, parsed, now)
            else:
                detail = f"{leaf} from a device that is not approved ({refusal})"
        if refusal is not None:
            self._refuse(device if refusal != TOO_MANY_WAITING else "unregistered", refusal, detail)
            return
        self.metrics.stored(leaf)
        if leaf == AGGREGATE:
            self.last_lag = now - parsed.window_end
        self.hub.publish(device, leaf)

    @staticmethod
    def _add_once(db, row, *identity) -> None:
        """Idempotent: a replayed message is stored once."""
        if db.scalar(select(type(row).id).where(*identity)) is None:
            db.add(row)

    def _availability(self, db, device: str, message: Availability, _now: float) -> None:
        db.get(Room, device).availability = message.status

    def _window(self, db, device: str, window: Aggregate, _now: float) -> None:
        if window.session_id and db.get(SessionRecord, window.session_id) is None:
            db.add(SessionRecord(id=window.session_id, device_id=device, label="", started_at=window.window_start))
        epoch = window.epoch or ""
        fields = dict(session_id=window.session_id, window_start=window.window_start, window_end=window.window_end,
                      faces=window.faces, lsi=window.lsi, suppressed=window.suppressed,
                      payload=window.model_dump(mode="json"))
        stored = db.scalar(select(WindowRecord).where(WindowRecord.device_id == device, WindowRecord.epoch == epoch,
                                                      WindowRecord.seq == window.seq))
        if stored is None:
            db.add(WindowRecord(device_id=device, epoch=epoch, seq=window.seq, **fields))
        elif stored.payload.get("stored") is False and window.stored:
            # A live copy sent while the box could not store is provisional: the stored one wins (after
            # a box's crash during a store outage the number may have gone to another window).
            for key, value in fields.items():
                setattr(stored, key, value)

    def _segment(self, db, device: str, segment: SegmentEnd, _now: float) -> None:
        self._add_once(db, SegmentRecord(device_id=device, session_id=segment.session_id, kind=segment.kind,
                                         start=segment.start, payload=segment.model_dump(mode="json"),
                                         epoch=segment.epoch, seq=segment.seq),
                       SegmentRecord.device_id == device, SegmentRecord.start == segment.start,
                       SegmentRecord.kind == segment.kind)

    def _alert(self, db, device: str, alert: AlertPayload, _now: float) -> None:
        self._add_once(db, AlertRecord(device_id=device, session_id=alert.session_id, kind=alert.kind,
                                       timestamp=alert.timestamp, payload=alert.model_dump(mode="json"),
                                       epoch=alert.epoch, seq=alert.seq),
                       AlertRecord.device_id == device, AlertRecord.timestamp == alert.timestamp,
                       AlertRecord.kind == alert.kind)

    def _state(self, db, device: str, state: State, _now: float) -> None:
        session = state.session
        db.get(Room, device).state = state.model_dump(mode="json")
        if session:
            record = db.get(SessionRecord, session.id)
            if record is None:
                db.add(SessionRecord(id=session.id, device_id=device, label=session.label,
                                     started_at=state.timestamp))
            elif session.label and not record.label:
                record.label = session.label
        open_sessions = db.scalars(select(SessionRecord).where(
            SessionRecord.device_id == device, SessionRecord.ended_at.is_(None))).all()
        for record in open_sessions:
            if not session or record.id != session.id:
                record.ended_at = state.timestamp

    def _stats(self, db, device: str, stats: Stats, _now: float) -> None:
        db.get(Room, device).stats = stats.model_dump(mode="json")

    def _result(self, _db, device: str, result: CommandResult, _now: float) -> None:
        with self._lock:
            waiter = self._waiters.get(result.request_id or "")
            if waiter is None:
                return  # an answer to another dashboard's command, or one that timed out
            if waiter.device != device:
                # Under the broker's ACLs only a device publishes on its own result topic.
                self._refuse(device, WRONG_DEVICE_RESULT, f"answer to a command sent to {waiter.device!r}")
                return
            waiter.result = result.model_dump(mode="json")
            waiter.done.set()

    # -- commands (web threads) ----------------------------------------------------------------
    def command_token(self, device: str) -> str | None:
        """The device's command token: the local appliance's file, or what an admin entered."""
        if device == self.cfg.local_device_id and self.cfg.local_token_file is not None:
            return read_secret_file(self.cfg.local_token_file)
        with self.sessions() as db:
            room = db.get(Room, device)
            return room.command_token if room is not None else None

    def send_command(self, device: str, name: str, body: dict, timeout: float = 5.0) -> dict:
        """Publish a command with the device's token and wait for that device's answer."""
        try:
            token = self.command_token(device)
        except ValueError as error:
            return {"ok": False, "error": f"cannot read the local appliance's command token: {error}"}
        if not token:
            return {"ok": False, "error": f"no command token for {device}: an admin enters it on the admin page "
                                          "(the box prints it with `lsi-edge token`)"}
        request_id = uuid.uuid4().hex[:16]
        try:
            payload = build_command(name, token, request_id=request_id, **body)
        except ValidationError as error:
            first = error.errors()[0]
            return {"ok": False, "error": f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"}
        waiter = _Waiter(device, threading.Event())
        with self._lock:
            self._waiters[request_id] = waiter
        try:
            info = self.client.publish(Topics(self.prefix, device).command(name), payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return {"ok": False, "error": "the dashboard is not connected to the broker"}
            if not waiter.done.wait(timeout):
                return {"ok": False, "error": f"no answer from {device} within {timeout:g} s (offline?)"}
            return waiter.result
        finally:
            with self._lock:
                self._waiters.pop(request_id, None)
