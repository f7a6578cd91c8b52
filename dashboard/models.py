"""The dashboard's own database: accounts, rooms, and what the feed delivered (idempotent on device+seq)."""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from edge.storage.schema import WindowColumns
from edge.storage.store import create_sqlite_folder


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # admin | teacher


class Room(Base):
    __tablename__ = "rooms"
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    teacher_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    availability: Mapped[str] = mapped_column(String(16), default="unknown")
    state: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    stats: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    last_seen: Mapped[float | None] = mapped_column(Float, nullable=True)


class SessionRecord(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class WindowRecord(WindowColumns, Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("device_id", "seq", name="uq_dash_windows_device_seq"),)


class SegmentRecord(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("device_id", "start", "kind", name="uq_dash_segments"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    start: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict] = mapped_column(JSON)


class AlertRecord(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("device_id", "timestamp", "kind", name="uq_dash_alerts"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[float] = mapped_column(Float)
    payload: Mapped[dict] = mapped_column(JSON)


def open_database(url: str):
    sqlite = url.startswith("sqlite")
    create_sqlite_folder(url)
    engine = create_engine(url, connect_args={"check_same_thread": False} if sqlite else {})
    if sqlite:
        @event.listens_for(engine, "connect")
        def _pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    Base.metadata.create_all(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)
