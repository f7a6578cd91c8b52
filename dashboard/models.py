"""The dashboard's own database: accounts, the registry of devices (one per room), and what the
approved devices' feed delivered (idempotent on device + seq). Its schema is migrated with Alembic
(dashboard/migrations/) at every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint, create_engine, event
from sqlalchemy import inspect as inspect_database
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "dashboard_alembic_version"
FIRST_REVISION = "0001"  # the schema create_all made before there were migrations

WAITING, APPROVED, REJECTED, REVOKED = "waiting", "approved", "rejected", "revoked"
APPROVALS = (WAITING, APPROVED, REJECTED, REVOKED)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # admin | teacher


class Room(Base):
    """A device and its room. Only an approved device's messages are stored; the others' are
    counted by topic in `received` (counts, never data)."""

    __tablename__ = "rooms"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approval: Mapped[str] = mapped_column(String(16), default=WAITING)
    command_token: Mapped[str | None] = mapped_column(String(256), nullable=True)
    first_seen: Mapped[float | None] = mapped_column(Float, nullable=True)
    received: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    holes: Mapped[list | None] = mapped_column(JSON, nullable=True)  # [epoch, first, last] the box no longer has
    availability: Mapped[str] = mapped_column(String(16), default="unknown")
    state: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    stats: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    last_seen: Mapped[float | None] = mapped_column(Float, nullable=True)

    @property
    def approved(self) -> bool:
        return self.approval == APPROVED


class SessionRecord(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class WindowRecord(Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("device_id", "epoch", "seq", name="uq_dash_windows_device_epoch_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    epoch: Mapped[str] = mapped_column(String(32), default="")  # '' from boxes before epochs
    seq: Mapped[int] = mapped_column(Integer)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    window_start: Mapped[float] = mapped_column(Float, index=True)
    window_end: Mapped[float] = mapped_column(Float)
    faces: Mapped[float] = mapped_column(Float)
    lsi: Mapped[float | None] = mapped_column(Float, nullable=True)
    suppressed: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[dict] = mapped_column(JSON)


class SegmentRecord(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("device_id", "start", "kind", name="uq_dash_segments"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict] = mapped_column(JSON)
    epoch: Mapped[str | None] = mapped_column(String(32), nullable=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AlertRecord(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("device_id", "timestamp", "kind", name="uq_dash_alerts"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict] = mapped_column(JSON)
    epoch: Mapped[str | None] = mapped_column(String(32), nullable=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. A database made before there were migrations (its
    tables, no version table) is first stamped with the revision that describes it."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        tables = set(inspect_database(connection).get_table_names())
        if "rooms" in tables and VERSION_TABLE not in tables:
            command.stamp(cfg, FIRST_REVISION)
        command.upgrade(cfg, "head")


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(url[len(prefix):]) if url.startswith(prefix) and url[len(prefix):] not in ("", ":memory:") else None


def open_database(url: str):
    sqlite = url.startswith("sqlite")
    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)  # a fresh box has no data directory yet
    engine = create_engine(url, connect_args={"check_same_thread": False} if sqlite else {},
                           pool_pre_ping=not sqlite)
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    migrate(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)
