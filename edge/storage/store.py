"""Store first, then publish: every aggregate, segment summary and alert is committed together with
its outbox message before anything goes on the network."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, delete, event, func, make_url, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from edge.storage.schema import AlertRow, OutboxRow, SegmentRow, SessionRow, StoreMeta, WindowRow
from lsi_contract.payloads import Aggregate, AlertPayload, SegmentEnd, build
from lsi_contract.sequence import missing_ranges
from lsi_contract.topics import AGGREGATE, ALERT, SEGMENT

log = logging.getLogger("lsi_edge.storage")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    topic: str  # the topic's leaf: lsi_contract.topics.DURABLE_LEAVES
    payload: str


def schema_status(url: str) -> str:
    """What the database at url holds, without changing anything: 'absent' (a SQLite file not
    created yet), 'current', or 'revision X, newest Y' (the next start migrates it)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    path = sqlite_file(url)
    if path is not None:
        if not path.exists():
            return "absent"
        # Read-only and immutable: even a read-only connection creates -wal/-shm files next to a
        # database in WAL mode, and a check must not write.
        url = f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true"
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    newest = ScriptDirectory.from_config(cfg).get_current_head()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return "current" if current == newest else f"revision {current or 'none'}, newest {newest}"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_sqlite_folder(url: str) -> None:
    """The data directory may not exist yet on a fresh box."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed window survives power loss too
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Store:
    def __init__(self, url: str, device_id: str, outbox_max: int = 100_000):
        self.device_id, self.outbox_max = device_id, outbox_max
        sqlite = url.startswith("sqlite")
        create_sqlite_folder(url)
        self.engine = create_engine(url, connect_args={"check_same_thread": False} if sqlite else {},
                                    pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()  # one writer at a time (SQLite), cheap elsewhere
        with self._sessions() as db:
            self.epoch: str = db.scalar(select(StoreMeta.value).where(StoreMeta.key == "epoch"))
            # One sequence across every stored message kind.
            self._seq = max(db.scalar(select(func.max(table.seq)).where(table.device_id == device_id)) or 0
                            for table in (WindowRow, SegmentRow, AlertRow))
        self.given_up = 0

    # -- messages: built (validated, numbered), then stored with their outbox entry -------------
    def window_payload(self, window: dict, session_id: str | None) -> dict:
        """The next window's message. Its seq is taken now, once the window is valid (a refused one
        leaves no gap), so that a window kept in memory while storing fails keeps its number."""
        with self._lock:
            payload = build(Aggregate, device_id=self.device_id, epoch=self.epoch, seq=self._seq + 1,
                            session_id=session_id, **window)
            self._seq += 1
        return payload

    def segment_payload(self, summary: dict, session_id: str | None) -> dict:
        with self._lock:
            payload = build(SegmentEnd, device_id=self.device_id, epoch=self.epoch, seq=self._seq + 1,
                            session_id=session_id, **summary)
            self._seq += 1
        return payload

    def alert_payload(self, alert: dict, session_id: str | None) -> dict:
        with self._lock:
            payload = build(AlertPayload, device_id=self.device_id, epoch=self.epoch, seq=self._seq + 1,
                            session_id=session_id, **alert)
            self._seq += 1
        return payload

    def store(self, kind: str, payload: dict) -> None:
        """The message's row and its outbox entry, in one transaction (kind: a durable leaf)."""
        p = payload
        row = {AGGREGATE: lambda: WindowRow(device_id=p["device_id"], seq=p["seq"], session_id=p["session_id"],
                                            window_start=p["window_start"], window_end=p["window_end"],
                                            faces=p["faces"], lsi=p["lsi"], suppressed=p["suppressed"], payload=p),
               SEGMENT: lambda: SegmentRow(device_id=p["device_id"], session_id=p["session_id"], kind=p["kind"],
                                           label=p["label"], start=p["start"], end=p["end"], summary=p,
                                           seq=p["seq"]),
               ALERT: lambda: AlertRow(device_id=p["device_id"], session_id=p["session_id"], kind=p["kind"],
                                       timestamp=p["timestamp"], payload=p, seq=p["seq"])}[kind]()
        with self._lock, self._sessions.begin() as db:
            db.add(row)
            self._enqueue(db, kind, payload)

    def add_window(self, window: dict, session_id: str | None) -> dict:
        payload = self.window_payload(window, session_id)
        self.store(AGGREGATE, payload)
        return payload

    def add_segment(self, summary: dict, session_id: str | None) -> dict:
        payload = self.segment_payload(summary, session_id)
        self.store(SEGMENT, payload)
        return payload

    def add_alert(self, alert: dict, session_id: str | None) -> dict:
        payload = self.alert_payload(alert, session_id)
        self.store(ALERT, payload)
        return payload

    def replay(self, epoch: str, first: int, last: int) -> tuple[int, list[tuple[int, int]]]:
        """Publishes again (through the outbox) the stored messages with first ≤ seq ≤ last; returns
        how many, and the ranges of that span no longer stored (retention, or another epoch)."""
        if epoch != self.epoch:
            return 0, [(first, last)]
        found: list[tuple[int, str, dict]] = []
        with self._sessions() as db:
            for table, kind, column in ((WindowRow, AGGREGATE, WindowRow.payload),
                                        (SegmentRow, SEGMENT, SegmentRow.summary),
                                        (AlertRow, ALERT, AlertRow.payload)):
                found += [(seq, kind, payload) for seq, payload in db.execute(
                    select(table.seq, column).where(table.device_id == self.device_id, table.seq >= first,
                                                    table.seq <= last))]
        found.sort(key=lambda item: item[0])
        if found:
            with self._lock, self._sessions.begin() as db:
                for _, kind, payload in found:
                    self._enqueue(db, kind, payload)
        return len(found), missing_ranges([seq for seq, _, _ in found], first, last)

    def start_session(self, label: str, started_at: float) -> str:
        session_id = uuid.uuid4().hex
        with self._lock, self._sessions.begin() as db:
            db.add(SessionRow(id=session_id, device_id=self.device_id, label=label, started_at=started_at))
        return session_id

    def end_session(self, session_id: str, ended_at: float) -> None:
        with self._lock, self._sessions.begin() as db:
            db.execute(update(SessionRow).where(SessionRow.id == session_id).values(ended_at=ended_at))

    def _enqueue(self, db: Session, topic: str, payload: dict) -> None:
        db.add(OutboxRow(topic=topic, payload=json.dumps(payload, separators=(",", ":")),
                         created_at=time.time(), given_up=False))
        db.flush()
        depth = db.scalar(select(func.count()).select_from(OutboxRow).where(
            OutboxRow.delivered_at.is_(None), OutboxRow.given_up.is_(False)))
        if depth > self.outbox_max:
            # Policy when full: give up publishing the oldest; the data itself stays in its table.
            excess = depth - self.outbox_max
            oldest = db.scalars(select(OutboxRow.id).where(OutboxRow.delivered_at.is_(None),
                                                           OutboxRow.given_up.is_(False))
                                .order_by(OutboxRow.id).limit(excess)).all()
            db.execute(update(OutboxRow).where(OutboxRow.id.in_(oldest)).values(given_up=True))
            self.given_up += len(oldest)
            log.warning("outbox full (%d): gave up publishing %d oldest message(s)", self.outbox_max, len(oldest))

    # -- outbox --------------------------------------------------------------------------------
    def pending(self, after_id: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """Undelivered messages in the order they were stored."""
        with self._sessions() as db:
            rows = db.execute(select(OutboxRow.id, OutboxRow.topic, OutboxRow.payload)
                              .where(OutboxRow.delivered_at.is_(None), OutboxRow.given_up.is_(False),
                                     OutboxRow.id > after_id)
                              .order_by(OutboxRow.id).limit(limit)).all()
        return [OutboxMessage(*row) for row in rows]

    def mark_delivered(self, ids: list[int]) -> None:
        if not ids:
            return
        with self._lock, self._sessions.begin() as db:
            db.execute(update(OutboxRow).where(OutboxRow.id.in_(ids)).values(delivered_at=time.time()))

    def oldest_pending_age(self, now: float | None = None) -> float | None:
        """Seconds since the oldest message not yet acknowledged was stored; None when none waits."""
        with self._sessions() as db:
            oldest = db.scalar(select(func.min(OutboxRow.created_at)).where(
                OutboxRow.delivered_at.is_(None), OutboxRow.given_up.is_(False)))
        return None if oldest is None else (now or time.time()) - oldest

    def outbox_depth(self) -> int:
        with self._sessions() as db:
            return db.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.delivered_at.is_(None), OutboxRow.given_up.is_(False)))

    # -- reads and housekeeping ----------------------------------------------------------------
    def windows(self, session_id: str | None = None) -> list[dict]:
        with self._sessions() as db:
            query = select(WindowRow.payload).where(WindowRow.device_id == self.device_id)
            if session_id is not None:
                query = query.where(WindowRow.session_id == session_id)
            return list(db.scalars(query.order_by(WindowRow.seq)))

    def purge(self, retention_days: float, now: float | None = None) -> int:
        """Delete rows older than the retention period, and delivered outbox messages."""
        cutoff = (now or time.time()) - retention_days * 86400.0
        with self._lock, self._sessions.begin() as db:
            removed = 0
            removed += db.execute(delete(WindowRow).where(WindowRow.window_end < cutoff)).rowcount
            removed += db.execute(delete(AlertRow).where(AlertRow.timestamp < cutoff)).rowcount
            removed += db.execute(delete(SegmentRow).where(SegmentRow.start < cutoff)).rowcount
            removed += db.execute(delete(SessionRow).where(SessionRow.ended_at.is_not(None),
                                                           SessionRow.ended_at < cutoff)).rowcount
            db.execute(delete(OutboxRow).where((OutboxRow.delivered_at.is_not(None)) | OutboxRow.given_up,
                                               OutboxRow.created_at < (now or time.time()) - 3600.0))
        return removed

    def close(self) -> None:
        self.engine.dispose()
