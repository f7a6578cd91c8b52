"""The dashboard in a real headless Chromium, fed by a real Mosquitto and a real appliance.

Screenshots of every page go to the test's folder; `scripts/screenshots.sh` points them at
docs/screenshots/ (committed, shown in the README) through $LSI_EDGE_SCREENSHOTS.
"""

import csv
import io
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from dashboard import create_app
from dashboard.auth import create_user
from dashboard.config import DashboardConfig
from dashboard.models import APPROVED, Room, User
from edge.appliance import Appliance
from edge.capture.capture import Capture
from edge.config import Config
from tests.mjpeg_server import free_port
from tests.mqtt_helpers import Broker, Consumer, aggregate_payload, wait_for

SCREENSHOTS_ENV = "LSI_EDGE_SCREENSHOTS"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "correct horse battery"

expect = playwright_api.expect


@pytest.fixture
def stack(tmp_path):
    broker = Broker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    # room-b is the appliance beside the dashboard: approved by itself, its token read from its file.
    cfg = DashboardConfig(database_url=f"sqlite:///{tmp_path / 'dash.db'}", secret_key_file=tmp_path / "key",
                          mqtt_host="127.0.0.1", mqtt_port=broker.port, command_timeout_seconds=8,
                          local_device_id="room-b", local_token_file=tmp_path / "data" / "command-token")
    app = create_app(cfg)
    from waitress import create_server
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=12)
    threading.Thread(target=server.run, daemon=True).start()
    sessions = app.config["SESSIONS"]
    create_user(sessions, "head", PASSWORD, "admin")
    create_user(sessions, "alice", PASSWORD, "teacher")
    create_user(sessions, "bob", PASSWORD, "teacher")
    feed = Consumer(broker.port, topic="lsi/+/cmd/#", client_id="command-watcher")
    wait_for(lambda: app.config["INGEST"].connected and feed.client.is_connected(), 15, "feed connections")
    for device in ("room-a", "room-c"):
        feed.publish(f"lsi/{device}/availability", "online")
    device_cfg = Config.model_validate({
        "device_id": "room-b", "source": {"uri": "demo:1280x720:8:600"},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "stats_seconds": 2, "state_seconds": 1},
        "storage": {"url": f"sqlite:///{tmp_path / 'edge.db'}"}, "health": {"port": 0}})
    appliance = Appliance(device_cfg)
    capture = Capture(device_cfg.source, device_cfg.processing.fps, realtime=True)
    device_thread = threading.Thread(target=appliance.run, args=(capture,), daemon=True)
    device_thread.start()

    def rooms_known():
        with sessions() as db:
            return db.query(Room).count() == 3
    wait_for(rooms_known, 20, "three rooms")
    with sessions.begin() as db:
        ids = {u.username: u.id for u in db.query(User)}
        for device, name, teacher in (("room-a", "Room A (7B)", "alice"), ("room-b", "Room B (8C)", "alice"),
                                      ("room-c", "Room C (9A)", "bob")):
            room = db.get(Room, device)
            room.name, room.teacher_id = name, ids[teacher]
            if device == "room-a":  # room-c stays waiting: the admin approves it in the browser
                room.approval = APPROVED
    assert CHROMIUM, "Debian chromium not installed: run scripts/test.sh (it installs chromium)"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        yield {"url": f"http://127.0.0.1:{port}", "browser": browser, "feed": feed, "app": app,
               "appliance": appliance, "data": tmp_path / "data"}
        browser.close()
    appliance.stop()
    device_thread.join(timeout=20)
    feed.close()
    server.close()
    app.config["INGEST"].stop()
    broker.stop()


def _login(browser, url, user):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")
    return page


@pytest.fixture
def shot(tmp_path):
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        assert (folder / f"{name}.png").stat().st_size > 10_000  # a rendered page, not a blank one
    return take


def test_teacher_workflow_in_a_real_browser(stack, shot):
    url, browser, feed = stack["url"], stack["browser"], stack["feed"]
    page = _login(browser, url, "alice")
    assert page.locator(".room-card").count() == 2  # alice's two rooms, not bob's

    # Live chart: aggregates published now show up without reloading the page.
    page.goto(f"{url}/rooms/room-a")
    start = time.time() - 60
    for seq, lsi in enumerate([52.0, 58.0, 63.0], start=1):
        feed.publish("lsi/room-a/aggregate", aggregate_payload("room-a", seq, lsi, start + 5 * seq))
    expect(page.locator(".huge-lsi")).to_have_text(re.compile(r"^63"), timeout=15000)
    assert page.locator("svg polyline.lsi-line").count() == 1
    feed.publish("lsi/room-a/aggregate", aggregate_payload("room-a", 4, 71.0, start + 20))
    expect(page.locator(".huge-lsi")).to_have_text(re.compile(r"^71"), timeout=15000)
    assert "4 windows" in page.locator("#panel").inner_text()
    shot(page, "live-room")

    # Commands to the real appliance: sent over MQTT, answered by the device, shown on the page.
    page.goto(f"{url}/rooms/room-b")
    page.fill("form:has(input[value='session/start']) input[name=label]", "Maths 8C")
    page.click("form:has(input[value='session/start']) button")
    expect(page.locator("#answer")).to_contain_text("started", timeout=15000)
    page.select_option("select[name=type]", "exercise")
    page.fill("form:has(input[value='segment/start']) input[name=label]", "worksheet")
    page.click("form:has(input[value='segment/start']) button")
    expect(page.locator("#answer")).to_contain_text("exercise", timeout=15000)
    commands = {t: json.loads(p) for t, p, _ in feed.messages if "/cmd/" in t and not t.endswith("result")}
    assert commands["lsi/room-b/cmd/session/start"]["label"] == "Maths 8C"
    assert commands["lsi/room-b/cmd/segment/start"] == {**commands["lsi/room-b/cmd/segment/start"],
                                                         "type": "exercise", "label": "worksheet"}
    page.wait_for_selector(".rec", timeout=15000)  # the recording indicator
    commands = [json.loads(p) for t, p, _ in feed.messages if t == "lsi/room-b/cmd/session/start"]
    assert commands[0]["token"] == (Path(stack["data"]) / "command-token").read_text().strip()
    appliance = stack["appliance"]
    wait_for(lambda: len(appliance.store.windows(appliance.sessions.id)) >= 2, 40, "recorded windows")
    page.wait_for_timeout(1500)
    shot(page, "live-room-recording")

    page.goto(f"{url}/")
    shot(page, "rooms")
    page.goto(f"{url}/sessions")
    assert "Maths 8C" in page.content()
    shot(page, "sessions")
    page.click("text=Review")
    page.wait_for_selector("svg.chart")
    assert "exercise" in page.content()
    shot(page, "session-review")

    # CSV download of the session's windows, checked row by row against the device's own store.
    with page.expect_download() as download_info:
        page.click("text=Download CSV")
    rows = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))
    stored = {w["seq"]: w for w in appliance.store.windows(appliance.sessions.id)}
    assert rows and {int(r["seq"]) for r in rows} <= set(stored)
    for row in rows:
        window = stored[int(row["seq"])]
        assert float(row["faces"]) == pytest.approx(window["faces"])
        assert (row["lsi"] == "" and window["lsi"] is None) or float(row["lsi"]) == pytest.approx(window["lsi"])
    api = page.request.get(f"{url}{page.url.split(url)[1].replace('/sessions/', '/api/sessions/')}/windows")
    assert api.ok and len(api.json()["windows"]) >= len(rows)

    page.goto(f"{url}/health")
    assert "room-b" in page.content() or "Room B" in page.content()
    shot(page, "health")

    # Pause, resume and stop, each carrying the box's token and answered by the box.
    page.goto(f"{url}/rooms/room-b")
    for button, answer in (("Pause", "paused"), ("Resume", "resumed"), ("Stop session", "stopped")):
        page.click(f"form[data-command] button:text-is('{button}')")
        expect(page.locator("#answer")).to_contain_text(answer, timeout=15000)
    assert appliance.sessions.id is None

    # room-c waits for approval: bob does not see it yet; the admin approves it with its token.
    bob = _login(browser, url, "bob")
    assert bob.goto(f"{url}/rooms/room-c").status == 404
    admin = _login(browser, url, "head")
    admin.goto(f"{url}/admin")
    waiting = admin.locator("tr.waiting-device[data-device='room-c']")
    expect(waiting).to_contain_text("availability")  # what it sent, counted
    shot(admin, "admin")
    waiting.locator("input[name=command_token]").fill("room-c-token-" + "x" * 30)
    waiting.locator("button:text-is('Approve')").click()
    expect(admin.locator(".flash.ok")).to_contain_text("room-c approved")
    assert admin.locator("tr.waiting-device").count() == 0

    # Another teacher's room is forbidden.
    assert bob.goto(f"{url}/rooms/room-a").status == 403
    assert bob.goto(f"{url}/rooms/room-c").status == 200
    assert bob.request.get(f"{url}/api/rooms").json()[0]["device_id"] == "room-c"
    admin.goto(f"{url}/login")
    anonymous = browser.new_page(viewport={"width": 1280, "height": 700})
    anonymous.goto(f"{url}/login")
    shot(anonymous, "login")
