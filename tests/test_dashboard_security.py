"""Every dashboard route refuses unauthenticated requests; CSRF, rate limit, headers, idempotent ingest."""

import re
import time

import pytest

from dashboard import create_app
from dashboard.auth import create_user
from dashboard.config import DashboardConfig
from tests.mqtt_helpers import aggregate_payload


@pytest.fixture
def app(tmp_path):
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                          mqtt_port=1, login_attempts=3)
    app = create_app(cfg, start_feed=False)
    create_user(app.config["SESSIONS"], "alice", "correct horse battery", "teacher")
    return app


def _url(rule) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "x", rule.rule)


def test_every_route_refuses_unauthenticated_requests(app):
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.login", "views.healthz"):  # healthz: figures for monitoring
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(_url(rule), method=method)
            assert response.status_code in (302, 401, 400), (rule.rule, method, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
            checked += 1
    assert checked >= 12


def _login(client, password="correct horse battery"):
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    return client.post("/login", data={"username": "alice", "password": password, "csrf_token": token})


def test_login_needs_csrf_and_is_rate_limited(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "alice", "password": "correct horse battery"}).status_code == 400
    for _ in range(3):
        assert _login(client, "wrong password!").status_code == 401
    assert _login(client).status_code == 429  # blocked even with the right password


def test_security_headers_and_cookie_flags(app):
    client = app.test_client()
    response = _login(client)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert client.post("/logout").status_code == 400  # no CSRF token


def test_no_default_account_and_short_passwords_refused(tmp_path):
    app = create_app(DashboardConfig(database_url=f"sqlite:///{tmp_path / 'd.db'}",
                                     secret_key_file=tmp_path / "k"), start_feed=False)
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    for user, password in (("admin", "admin"), ("admin", "password"), ("root", "root")):
        assert client.post("/login", data={"username": user, "password": password,
                                            "csrf_token": token}).status_code == 401
    with pytest.raises(ValueError, match="at least"):
        create_user(app.config["SESSIONS"], "bob", "short", "teacher")


def test_ingest_is_idempotent_on_device_and_seq(app):
    from dashboard.models import APPROVED, Room, WindowRecord
    with app.config["SESSIONS"].begin() as db:
        db.add(Room(device_id="room-a", name="Room A", approval=APPROVED))
    payload = aggregate_payload("room-a", 1, 55.0, time.time() - 60).encode()
    for _ in range(3):
        app.config["INGEST"]._ingest("lsi/room-a/aggregate", payload)
    with app.config["SESSIONS"]() as db:
        assert db.query(WindowRecord).count() == 1
