"""The dashboard's door: only approved devices, only what the contract allows, every refusal
counted by device and reason, and pages and API that stay up and strict JSON whatever is stored."""

import json
import sqlite3
import time

import pytest

from dashboard import create_app
from dashboard.auth import create_user
from dashboard.config import DashboardConfig
from dashboard.models import APPROVED, WAITING, Room, WindowRecord
from edge.paths import REPO_ROOT
from tests.mqtt_helpers import aggregate_fields

PASSWORD = "correct horse battery"


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def _app(tmp_path, **settings):
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                          mqtt_port=1, **settings)
    app = create_app(cfg, start_feed=False)
    create_user(app.config["SESSIONS"], "head", PASSWORD, "admin")
    return app


def _admin(app):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    assert client.post("/login", data={"username": "head", "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client, token


def _send(app, device, leaf, payload):
    app.config["INGEST"]._ingest(f"lsi/{device}/{leaf}", payload if isinstance(payload, bytes) else
                                 json.dumps(payload, allow_nan=True).encode())


def _windows(app, device):
    with app.config["SESSIONS"]() as db:
        return db.query(WindowRecord).filter_by(device_id=device).count()


def test_unknown_devices_wait_for_approval_and_nothing_of_theirs_is_stored(tmp_path):
    app = _app(tmp_path, max_waiting_devices=50)
    start = time.time() - 600
    for k in range(60):
        _send(app, f"made-up-{k}", "aggregate", aggregate_fields(f"made-up-{k}", 1, 50.0, start))
    _send(app, "made-up-0", "state", {"anything": 1})
    with app.config["SESSIONS"]() as db:
        rooms = db.query(Room).all()
        assert len(rooms) == 50 and all(r.approval == WAITING and r.state is None for r in rooms)
        assert db.get(Room, "made-up-0").received == {"aggregate": 1, "state": 1}
        assert db.query(WindowRecord).count() == 0
    metrics = app.config["METRICS"]
    assert metrics.refused_count("made-up-0", "not_approved") == 2
    assert metrics.refused_count("unregistered", "too_many_waiting") == 10

    client, csrf = _admin(app)
    page = client.get("/admin").get_data(as_text=True)
    assert page.count('class="waiting-device"') == 50 and "1 aggregate, 1 state" in page
    assert client.get("/").get_data(as_text=True).count("room-card") == 0  # waiting devices are no rooms
    assert client.get("/rooms/made-up-1").status_code == 404

    client.post("/admin", data={"csrf_token": csrf, "action": "approve", "device_id": "made-up-1",
                                "name": "Room 1", "command_token": "t" * 40})
    _send(app, "made-up-1", "aggregate", aggregate_fields("made-up-1", 1, 50.0, start))
    assert _windows(app, "made-up-1") == 1
    assert app.config["INGEST"].command_token("made-up-1") == "t" * 40
    client.post("/admin", data={"csrf_token": csrf, "action": "revoke", "device_id": "made-up-1"})
    _send(app, "made-up-1", "aggregate", aggregate_fields("made-up-1", 2, 50.0, start + 5))
    assert _windows(app, "made-up-1") == 1 and metrics.refused_count("made-up-1", "revoked") == 1
    client.post("/admin", data={"csrf_token": csrf, "action": "reject", "device_id": "made-up-2"})
    _send(app, "made-up-2", "aggregate", aggregate_fields("made-up-2", 1, 50.0, start))
    assert metrics.refused_count("made-up-2", "rejected") == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 'lsi_dashboard_messages_refused_total{device="made-up-2",reason="rejected"} 1.0' in text
    assert 'lsi_dashboard_devices{approval="waiting"} 48.0' in text


def test_bad_values_from_an_approved_device_are_refused_and_counted_by_reason(tmp_path):
    app = _app(tmp_path, local_device_id="room-a")
    start = time.time() - 600
    bad = [{"lsi": -50.0}, {"lsi": float("inf")}, {"lsi": float("-inf")}, {"lsi": float("nan")},
           {"faces": 1e308}, {"lsi": "abc"}, {"emotions": {"happy": "x"}}, {"window_end": 1e12}]
    for seq, change in enumerate(bad, start=1):
        _send(app, "room-a", "aggregate", {**aggregate_fields("room-a", seq, 50.0, start + 5 * seq), **change})
    _send(app, "room-a", "state", b'{"device_id": "room-a", "padding": "' + b"x" * 1_000_000 + b'"}')
    _send(app, "room-a", "state", {"device_id": "room-a", "timestamp": time.time(), "lsi": "abc"})
    _send(app, "room-a", "aggregate", aggregate_fields("room-b", 99, 50.0, start))  # claims another device
    metrics = app.config["METRICS"]
    assert _windows(app, "room-a") == 0
    assert metrics.refused_count("room-a", "invalid") == len(bad) + 1
    assert metrics.refused_count("room-a", "too_large") == 1
    assert metrics.refused_count("room-a", "wrong_device") == 1
    with app.config["SESSIONS"]() as db:
        assert db.get(Room, "room-a").state is None

    for seq in (1, 2, 2, 3):  # a replay is stored once
        _send(app, "room-a", "aggregate", aggregate_fields("room-a", seq, 40.0 + seq, start + 5 * seq))
    assert _windows(app, "room-a") == 3
    client, _ = _admin(app)
    rooms = strict_json(client.get("/api/rooms").get_data(as_text=True))
    assert [r["device_id"] for r in rooms] == ["room-a"]


def test_pages_and_the_api_stay_up_and_strict_on_rows_stored_before_validation(tmp_path):
    """A database of the code before this contract, with NaN and strings where numbers belong."""
    path = tmp_path / "dash.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((REPO_ROOT / "tests" / "data" / "dashboard-before-migrations.sql").read_text())
        connection.execute("UPDATE windows SET lsi = 'NaN', payload = json_set(payload, '$.emotions', "
                           "json('{\"happy\": \"x\"}')) WHERE seq = 2")
        connection.execute("UPDATE windows SET window_end = 1e12 WHERE seq = 3")
    app = create_app(DashboardConfig(database_url=f"sqlite:///{path}", secret_key_file=tmp_path / "key",
                                     mqtt_port=1), start_feed=False)
    client, _ = _admin(app)  # the admin of the old database, with the old password
    session_id = "a" * 32
    for url in ("/", "/rooms/room-a", "/rooms/room-a/panel", "/sessions", f"/sessions/{session_id}",
                f"/sessions/{session_id}.csv", "/health", "/admin", "/metrics"):
        assert client.get(url).status_code == 200, url
    for url in ("/api/rooms", f"/api/sessions/{session_id}/windows"):
        response = client.get(url)
        assert response.status_code == 200
        strict_json(response.get_data(as_text=True))


@pytest.mark.parametrize("teacher_path", ["/admin", "/metrics"])
def test_admin_only_pages(tmp_path, teacher_path):
    app = _app(tmp_path)
    create_user(app.config["SESSIONS"], "alice", PASSWORD, "teacher")
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": csrf})
    assert client.get(teacher_path).status_code == 403
    with app.config["SESSIONS"]() as db:
        assert db.query(Room).filter_by(approval=APPROVED).count() == 0


def test_a_live_copy_is_provisional_and_the_stored_copy_of_its_number_wins(tmp_path):
    app = _app(tmp_path, local_device_id="room-a")
    start = time.time() - 600
    live = {**aggregate_fields("room-a", 5, 40.0, start), "epoch": "0123456789abcdef", "stored": False}
    stored = {**aggregate_fields("room-a", 5, 70.0, start + 5), "epoch": "0123456789abcdef"}
    _send(app, "room-a", "aggregate", live)
    _send(app, "room-a", "aggregate", stored)
    _send(app, "room-a", "aggregate", {**live, "lsi": 10.0})  # a late live copy changes nothing
    with app.config["SESSIONS"]() as db:
        windows = db.query(WindowRecord).all()
    assert len(windows) == 1 and windows[0].lsi == 70.0 and windows[0].payload["stored"] is True
