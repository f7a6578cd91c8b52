"""The feed on the broker as the installer sets it up, with one approved real appliance, a second
device turned hostile and an approved room with no device behind it: what is refused where, and
that the real lesson and its data come through untouched."""

import json
import math
import re
import threading
import time

import pytest

from dashboard import create_app
from dashboard.auth import create_user
from dashboard.config import DashboardConfig
from dashboard.models import APPROVED, WAITING, Room, SessionRecord, WindowRecord
from edge.appliance import Appliance
from edge.capture.capture import Capture
from edge.config import Config
from tests.installed_broker import InstalledBroker
from tests.mqtt_helpers import aggregate_fields, wait_for

PASSWORD = "correct horse battery"
ACCOUNTS = {"lsi-dashboard": "dashboard-secret", "room-a": "room-a-secret", "room-b": "room-b-secret"}
# An observer that could read every command, as anyone could before the ACLs: it learns a request id.
OBSERVER_ACL = "user observer\ntopic read lsi/+/cmd/#"


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} in a JSON answer")
    return json.loads(text, parse_constant=refuse)


def _secret(folder, name, value):
    path = folder / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def school(tmp_path):
    broker = InstalledBroker(tmp_path, {**ACCOUNTS, "observer": "observer-secret"}, extra_acl=OBSERVER_ACL)
    broker.start()
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                          mqtt_host="127.0.0.1", mqtt_port=broker.port, mqtt_username="lsi-dashboard",
                          mqtt_password_file=_secret(tmp_path, "dash-pw", ACCOUNTS["lsi-dashboard"]),
                          command_timeout_seconds=4)
    app = create_app(cfg)
    create_user(app.config["SESSIONS"], "head", PASSWORD, "admin")
    device_cfg = Config.model_validate({
        "device_id": "room-a", "source": {"uri": "demo:960x540:8:600"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "username": "room-a", "state_seconds": 1,
                 "stats_seconds": 2, "password_file": str(_secret(tmp_path, "room-a-pw", ACCOUNTS["room-a"]))},
        "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}, "health": {"port": 0}})
    appliance = Appliance(device_cfg)
    thread = threading.Thread(target=appliance.run, args=(Capture(device_cfg.source, 8.0, True),), daemon=True)
    thread.start()
    yield {"broker": broker, "app": app, "appliance": appliance, "tmp": tmp_path}
    appliance.stop()
    thread.join(timeout=30)
    app.config["INGEST"].stop()
    broker.stop()


def _admin(app):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    client.post("/login", data={"username": "head", "password": PASSWORD, "csrf_token": csrf})
    return client, csrf


def _command(client, csrf, device, **form):
    response = client.post(f"/rooms/{device}/command", data={"csrf_token": csrf, **form},
                           headers={"Accept": "application/json"})
    return strict_json(response.get_data(as_text=True))


def test_only_the_approved_device_s_valid_data_is_stored_and_forgeries_are_refused(school):
    broker, app, appliance = school["broker"], school["app"], school["appliance"]
    sessions, metrics = app.config["SESSIONS"], app.config["METRICS"]
    client, csrf = _admin(app)

    # The real box shows up as waiting; the admin approves it with the token the box prints.
    wait_for(lambda: any(r.device_id == "room-a" for r in sessions().query(Room)), 30, "room-a waiting")
    assert sessions().get(Room, "room-a").approval == WAITING
    token = (school["tmp"] / "data" / "command-token").read_text().strip()
    client.post("/admin", data={"csrf_token": csrf, "action": "approve", "device_id": "room-a",
                                "name": "Room A", "command_token": token})
    # What it sent before approval stays on the box (issue "Nothing lost…" replays it).
    before_approval = max((w["seq"] for w in appliance.store.windows()), default=0)
    with sessions.begin() as db:  # an approved room whose box is away (no device behind it)
        db.add(Room(device_id="room-c", name="Room C", approval=APPROVED, command_token="c" * 43))
    answer = _command(client, csrf, "room-a", command="session/start", label="Maths 7B")
    assert answer["ok"], answer
    lesson = appliance.sessions.id
    wait_for(lambda: sessions().get(SessionRecord, lesson) is not None, 15, "the lesson at the dashboard")

    # (a) From the approved device's own account: values the contract refuses.
    own = broker.client("room-a", client_id="room-a-forger")
    start = time.time() - 60
    bad = [{"lsi": -50.0}, {"lsi": math.inf}, {"lsi": -math.inf}, {"lsi": math.nan}, {"faces": 1e308},
           {"lsi": "abc"}, {"emotions": {"happy": "x"}}, {"window_end": 1e12}]
    for k, change in enumerate(bad):
        fields = {**aggregate_fields("room-a", 90_000 + k, 50.0, start), **change}
        own.publish_and_wait("lsi/room-a/aggregate", json.dumps(fields, allow_nan=True))
    own.publish_and_wait("lsi/room-a/state", json.dumps({"device_id": "room-a", "lsi": "abc",
                                                         "padding": "x" * 1_000_000}))
    wait_for(lambda: metrics.refused_count("room-a", "invalid") >= len(bad)
             and metrics.refused_count("room-a", "too_large") >= 1, 15, "refusals counted")

    # (b) From a second device's account: another room's topics are closed to it.
    other = broker.client("room-b", client_id="room-b-box")
    other.publish_and_wait("lsi/room-a/state", json.dumps({"device_id": "room-a", "timestamp": time.time(),
                                                          "session": None}))
    next_seq = max((w["seq"] for w in appliance.store.windows()), default=0) + 1
    for seq in range(next_seq, next_seq + 10):
        other.publish_and_wait("lsi/room-a/aggregate", json.dumps(aggregate_fields("room-a", seq, 5.0, start)))
    for k in range(200):  # made-up devices: their topics are refused by the broker, their ids by the contract
        other.publish_and_wait(f"lsi/fake-{k}/aggregate", json.dumps(aggregate_fields(f"fake-{k}", 1, 5.0, start)))
        other.publish_and_wait("lsi/room-b/aggregate", json.dumps(aggregate_fields(f"fake-{k}", 1, 5.0, start)))

    # A forged answer to a command sent to room-c, whose request id an observer read.
    observer = broker.client("observer", client_id="observer")
    observer.subscribe_and_wait("lsi/+/cmd/#")
    result: dict = {}
    sender = threading.Thread(target=lambda: result.update(
        _command(*_admin(app), "room-c", command="session/start", label="Physics")))
    sender.start()
    wait_for(lambda: any(t == "lsi/room-c/cmd/session/start" for t in observer.topics()), 10, "the command")
    request_id = json.loads(dict(observer.received)["lsi/room-c/cmd/session/start"])["request_id"]
    forged = json.dumps({"command": "session/start", "request_id": request_id, "ok": True,
                         "detail": "session started", "timestamp": time.time()})
    other.publish_and_wait("lsi/room-c/cmd/result", forged)  # the broker drops it
    other.publish_and_wait("lsi/room-b/cmd/result", forged)  # its own topic: not the device asked
    sender.join(timeout=15)
    assert result and not result["ok"] and "no answer from room-c" in result["error"]

    # The real lesson goes on; every real window arrives with its real values.
    appliance_windows = lambda: {w["seq"]: w for w in appliance.store.windows()}  # noqa: E731
    wait_for(lambda: len(appliance_windows()) >= next_seq + 1, 30, "more real windows")
    time.sleep(1.0)
    real = {seq: window for seq, window in appliance_windows().items() if seq > before_approval}

    def stored():
        with sessions() as db:
            return {w.seq: w.payload for w in db.query(WindowRecord).filter_by(device_id="room-a")}
    wait_for(lambda: set(real) <= set(stored()), 30, "every real window at the dashboard")
    dashboard_windows = stored()
    assert not set(dashboard_windows) - set(appliance_windows())  # nothing but the device's own windows
    for seq, window in real.items():
        assert dashboard_windows[seq] == window, seq
    with sessions() as db:
        assert db.get(SessionRecord, lesson).ended_at is None  # the lesson is still open
        assert db.get(Room, "room-a").state["session"]["id"] == lesson
        assert db.get(Room, "room-b").approval == WAITING  # it asked, nobody approved it
        assert db.query(Room).filter(Room.device_id.like("fake-%")).count() == 0
        assert db.query(WindowRecord).filter(WindowRecord.device_id != "room-a").count() == 0
    assert metrics.refused_count("room-b", "not_approved") >= 201
    assert appliance.sessions.id == lesson

    # Every page and API route answers 200, the API with strict JSON.
    for url in ("/", "/rooms/room-a", "/rooms/room-a/panel", "/sessions", f"/sessions/{lesson}",
                f"/sessions/{lesson}.csv", "/health", "/admin", "/metrics"):
        assert client.get(url).status_code == 200, url
    for url in ("/api/rooms", f"/api/sessions/{lesson}/windows"):
        response = client.get(url)
        assert response.status_code == 200, url
        strict_json(response.get_data(as_text=True))
    text = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'lsi_dashboard_messages_refused_total\{device="room-a",reason="invalid"\} \d', text)
    assert re.search(r'lsi_dashboard_messages_refused_total\{device="room-a",reason="too_large"\} 1\.0', text)
