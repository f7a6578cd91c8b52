"""The dashboard's database is migrated, never recreated: a school keeps its history."""

import sqlite3

from sqlalchemy import inspect

from dashboard.models import (
    APPROVED,
    VERSION_TABLE,
    AlertRecord,
    Room,
    SegmentRecord,
    SessionRecord,
    User,
    WindowRecord,
    open_database,
)
from edge.paths import REPO_ROOT
from tests.postgres_helpers import Postgres

BEFORE = REPO_ROOT / "tests" / "data" / "dashboard-before-migrations.sql"


def _counts(path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("users", "rooms", "sessions", "windows", "segments", "alerts")}


def test_a_database_made_before_migrations_is_upgraded_without_losing_a_row(tmp_path):
    path = tmp_path / "dash.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(BEFORE.read_text())
    before = _counts(path)
    assert before == {"users": 2, "rooms": 2, "sessions": 1, "windows": 5, "segments": 1, "alerts": 1}

    engine, sessions = open_database(f"sqlite:///{path}")
    assert _counts(path) == before
    with sessions() as db:
        assert [w.lsi for w in db.query(WindowRecord).order_by(WindowRecord.seq)] == [61.0, 62.0, 63.0, 64.0, 65.0]
        assert db.get(SessionRecord, "a" * 32).label == "Maths 7B"
        assert db.query(SegmentRecord).one().payload["label"] == "intro"
        assert db.query(AlertRecord).one().kind == "lsi_drop"
        assert {u.username for u in db.query(User)} == {"head", "alice"}
        rooms = {r.device_id: r for r in db.query(Room)}
        assert all(r.approval == APPROVED for r in rooms.values())  # rooms in use stay in use
        assert rooms["room-a"].teacher_id == 2 and rooms["room-a"].name == "Room A (7B)"
        assert rooms["room-a"].state is None and rooms["room-a"].stats is None  # stored unchecked: dropped
    assert VERSION_TABLE in inspect(engine).get_table_names()
    engine.dispose()
    open_database(f"sqlite:///{path}")[0].dispose()  # a second start changes nothing
    assert _counts(path) == before


def test_a_new_database_on_postgresql_gets_the_newest_schema(tmp_path_factory):
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    try:
        engine, sessions = open_database(server.url)
        with sessions.begin() as db:
            db.add(Room(device_id="room-1", name="Room 1"))
        with sessions() as db:
            assert db.get(Room, "room-1").approval == "waiting"
        engine.dispose()
        engine, _ = open_database(server.url)  # migrating again is a no-op
        engine.dispose()
    finally:
        server.stop()
