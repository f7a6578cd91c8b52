"""The storage layer on SQLite (default) and a real PostgreSQL."""

import pytest
from sqlalchemy import inspect, text

from edge.storage.store import Store
from tests.mqtt_helpers import aggregate_fields
from tests.postgres_helpers import Postgres


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    server = Postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'edge.db'}"
    server = request.getfixturevalue("postgres")
    store = Store(server.url, "cleanup")
    with store.engine.begin() as connection:  # each test starts from empty tables
        connection.execute(text("TRUNCATE sessions, segments, windows, alerts, outbox RESTART IDENTITY"))
    store.close()
    return server.url


def _window(k: int, lsi: float | None = 60.0) -> dict:
    """A window as the pipeline hands it to the store (the store adds device, seq and session)."""
    fields = aggregate_fields("room-1", 1, lsi or 0.0, 1000.0 + 5 * k)
    for key in ("device_id", "seq", "session_id"):
        del fields[key]
    if lsi is None:
        fields.update(lsi=None, lsi_low=None, lsi_high=None, emotions=None, suppressed=True,
                      expression_suppressed=True)
    return fields


ALERT = {"kind": "lsi_drop", "timestamp": 1070.0, "segment": None, "value": 40.0, "reference": 60.0,
         "sustained_seconds": 30.0, "message": "drop"}
SEGMENT = {"kind": "lecture", "label": "x", "start": 1000.0, "end": 1060.0, "windows": 12, "reported_windows": 12,
           "lsi_mean": 60.0, "lsi_ci95_low": 58.0, "lsi_ci95_high": 62.0, "faces_mean": 12.0}


def test_schema_is_migrated_and_has_no_per_track_table(url):
    store = Store(url, "room-1")
    tables = set(inspect(store.engine).get_table_names())
    assert {"sessions", "segments", "windows", "alerts", "outbox", "alembic_version"} <= tables
    assert not any("track" in t or "face" in t for t in tables)
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    if url.startswith("sqlite"):
        with store.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_seq_is_monotonic_per_device_across_restarts(url):
    store = Store(url, "room-1")
    assert [store.add_window(_window(k), None)["seq"] for k in range(3)] == [1, 2, 3]
    store.close()
    reopened = Store(url, "room-1")
    assert reopened.add_window(_window(3), None)["seq"] == 4
    assert Store(url, "room-2").add_window(_window(0), None)["seq"] == 1  # per device
    assert [w["seq"] for w in reopened.windows()] == [1, 2, 3, 4]


def test_outbox_order_delivery_and_bound(url):
    store = Store(url, "room-1", outbox_max=10)
    session = store.start_session("Maths", 999.0)
    for k in range(12):
        store.add_window(_window(k), session)
    store.add_alert(ALERT, session)
    store.add_segment(SEGMENT, session)
    assert store.given_up == 4 and store.outbox_depth() == 10  # policy: the oldest are given up
    pending = store.pending(limit=100)
    assert [m.topic for m in pending][-2:] == ["alert", "segment"]
    assert [m.id for m in pending] == sorted(m.id for m in pending)
    store.mark_delivered([m.id for m in pending[:4]])
    assert store.outbox_depth() == 6
    assert len(store.windows(session)) == 12  # given-up messages are still stored


def test_retention_deletes_old_rows(url):
    store = Store(url, "room-1")
    store.add_window(_window(0), None)  # ends at 1005 (1970)
    store.add_window({**_window(0), "window_start": 4.0e9, "window_end": 4.0e9 + 5}, None)
    assert store.purge(retention_days=30) >= 1
    assert [w["window_end"] for w in store.windows()] == [4.0e9 + 5]


def test_one_sequence_across_kinds_within_the_store_s_epoch_and_replay(url):
    store = Store(url, "room-1")
    assert len(store.epoch) == 16
    seqs = [store.add_window(_window(0), None)["seq"], store.add_segment(SEGMENT, None)["seq"],
            store.add_alert(ALERT, None)["seq"], store.add_window(_window(1), None)["seq"]]
    assert seqs == [1, 2, 3, 4]
    store.close()
    reopened = Store(url, "room-1")
    assert reopened.epoch == store.epoch and reopened.add_alert({**ALERT, "timestamp": 1080.0}, None)["seq"] == 5
    delivered = reopened.pending(limit=100)
    reopened.mark_delivered([m.id for m in delivered])
    count, missing = reopened.replay(store.epoch, 2, 8)
    assert count == 4 and missing == [(6, 8)]
    replayed = reopened.pending(limit=100)
    assert [m.topic for m in replayed] == ["segment", "alert", "aggregate", "alert"]  # in seq order
    assert reopened.replay("0" * 16, 1, 3) == (0, [(1, 3)])  # another epoch: nothing of it here
