"""Pages and the JSON API. A teacher sees only their rooms; an admin sees all and assigns them."""

from __future__ import annotations

import csv
import io
import json
import queue
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select

from dashboard import charts
from dashboard.models import (
    APPROVED,
    REJECTED,
    REVOKED,
    AlertRecord,
    Room,
    SegmentRecord,
    SessionRecord,
    User,
    WindowRecord,
)
from dashboard.security import admin_required
from lsi_contract.labels import SEGMENT_KINDS
from lsi_contract.payloads import HEALTH_CODES
from lsi_contract.stats import mean_ci95

bp = Blueprint("views", __name__)
LIVE_SECONDS = 30 * 60
CSV_COLUMNS = ("seq", "window_start", "window_end", "faces", "faces_min", "faces_max", "lsi", "lsi_std",
               "negative_share", "transitions", "change_rate", "suppressed", "segment_kind", "segment_label")


def _db():
    return current_app.config["SESSIONS"]()


def visible_rooms() -> list[Room]:
    """The user's rooms of approved devices, queried once per request (the page and the header
    indicator both need them)."""
    if "visible_rooms" not in g:
        with _db() as db:
            query = select(Room).where(Room.approval == APPROVED).order_by(Room.name)
            if g.user.role != "admin":
                query = query.where(Room.teacher_id == g.user.id)
            g.visible_rooms = list(db.scalars(query))
    return g.visible_rooms


def room_or_403(device_id: str) -> Room:
    with _db() as db:
        room = db.get(Room, device_id)
    if room is None or not room.approved:
        abort(404)
    if g.user.role != "admin" and room.teacher_id != g.user.id:
        abort(403)
    return room


def session_or_403(session_id: str) -> tuple[SessionRecord, Room]:
    with _db() as db:
        record = db.get(SessionRecord, session_id)
    if record is None:
        abort(404)
    return record, room_or_403(record.device_id)


def recording(room: Room) -> bool:
    return bool(room.state and room.state.get("session") and room.state["session"].get("state") == "recording")


@bp.app_context_processor
def inject_recording():
    rooms = visible_rooms() if g.get("user") is not None else []
    return {"recording_rooms": [r for r in rooms if recording(r)], "lsi_class": charts.lsi_class,
            "lsi_band": charts.lsi_band_name,
            "segment_kinds": SEGMENT_KINDS}


@bp.route("/")
def rooms():
    return render_template("rooms.html", rooms=visible_rooms(), now=time.time())


def _live_data(room: Room) -> dict:
    since = time.time() - LIVE_SECONDS
    with _db() as db:
        windows = list(db.scalars(select(WindowRecord).where(WindowRecord.device_id == room.device_id,
                                                             WindowRecord.window_end >= since)
                                  .order_by(WindowRecord.window_start)))
        segments = [s.payload for s in db.scalars(select(SegmentRecord).where(
            SegmentRecord.device_id == room.device_id, SegmentRecord.start >= since - 3600))]
        alerts = [a.payload for a in db.scalars(select(AlertRecord).where(
            AlertRecord.device_id == room.device_id, AlertRecord.timestamp >= since)
            .order_by(AlertRecord.timestamp.desc()).limit(10))]
    latest = windows[-1].payload if windows else None
    current = (room.state or {}).get("segment")
    shown = list(segments)
    if current:
        shown.append({**current, "end": None})
    return {"windows": windows, "latest": latest, "alerts": alerts,
            "timeline": charts.lsi_timeline([(w.window_end, w.lsi) for w in windows], shown),
            "bars": charts.emotion_bars(latest.get("emotions") if latest else None)}


@bp.route("/rooms/<device_id>")
def room(device_id: str):
    room = room_or_403(device_id)
    return render_template("room.html", room=room, live=_live_data(room))


@bp.route("/rooms/<device_id>/panel")
def room_panel(device_id: str):
    room = room_or_403(device_id)
    return render_template("_panel.html", room=room, live=_live_data(room))


@bp.route("/rooms/<device_id>/events")
def room_events(device_id: str):
    room_or_403(device_id)
    hub = current_app.config["HUB"]

    def stream():
        q = hub.subscribe()
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    device, kind = q.get(timeout=15)
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                if device == device_id:
                    yield f"event: update\ndata: {json.dumps({'kind': kind})}\n\n"
        finally:
            hub.unsubscribe(q)

    return Response(stream_with_context(stream()), mimetype="text/event-stream",
                    headers={"X-Accel-Buffering": "no"})


COMMAND_FORMS = {"session/start": ("label",), "session/stop": (), "session/pause": (), "session/resume": (),
                 "segment/start": ("type", "label")}


@bp.route("/rooms/<device_id>/command", methods=["POST"])
def room_command(device_id: str):
    room_or_403(device_id)
    name = request.form.get("command", "")
    if name not in COMMAND_FORMS:
        abort(400, description="unknown command")
    body = {field: request.form.get(field, "")[:200] for field in COMMAND_FORMS[name]}
    answer = current_app.config["INGEST"].send_command(device_id, name, body,
                                                       current_app.config["COMMAND_TIMEOUT"])
    if request.headers.get("Accept") == "application/json":
        return jsonify(answer), 200 if answer.get("ok") else 409
    flash(answer.get("detail") if answer.get("ok") else f"Device answered: {answer.get('error')}",
          "ok" if answer.get("ok") else "error")
    return redirect(url_for("views.room", device_id=device_id))


def _sessions_for(rooms: list[Room]) -> list[SessionRecord]:
    ids = [r.device_id for r in rooms]
    with _db() as db:
        return list(db.scalars(select(SessionRecord).where(SessionRecord.device_id.in_(ids))
                               .order_by(SessionRecord.started_at.desc())))


@bp.route("/sessions")
def sessions():
    rooms = visible_rooms()
    names = {r.device_id: r.name for r in rooms}
    return render_template("sessions.html", sessions=_sessions_for(rooms), names=names)


def _session_windows(session_id: str) -> list[WindowRecord]:
    with _db() as db:
        return list(db.scalars(select(WindowRecord).where(WindowRecord.session_id == session_id)
                               .order_by(WindowRecord.seq)))


def _segment_rows(windows: list[WindowRecord]) -> list[dict]:
    groups: dict[tuple, list[WindowRecord]] = {}
    for window in windows:
        segment = window.payload.get("segment")
        key = (segment["kind"], segment["label"], segment["start"]) if segment else ("none", "", 0.0)
        groups.setdefault(key, []).append(window)
    rows = []
    for (kind, label, start), members in groups.items():
        values = [w.lsi for w in members if charts.finite_number(w.lsi) and not w.suppressed]
        mean, low, high = mean_ci95(values)
        totals: dict[str, float] = {}
        reported = 0
        for w in members:
            emotions = w.payload.get("emotions") or {}
            if isinstance(emotions, dict) and emotions and all(map(charts.finite_number, emotions.values())):
                reported += 1
                for name, share in emotions.items():
                    totals[name] = totals.get(name, 0.0) + share
        shares = {k: v / reported for k, v in totals.items()} if reported else None
        rows.append({"kind": kind, "label": label, "start": start or members[0].window_start,
                     "end": members[-1].window_end, "windows": len(members), "mean": mean, "low": low,
                     "high": high, "bars": charts.emotion_bars(shares, title=f"Emotions — {label or kind}")})
    return rows


@bp.route("/sessions/<session_id>")
def session_review(session_id: str):
    record, room = session_or_403(session_id)
    windows = _session_windows(session_id)
    rows = _segment_rows(windows)
    segments = [{"kind": r["kind"], "label": r["label"], "start": r["start"], "end": r["end"]}
                for r in rows if r["kind"] != "none"]
    with _db() as db:
        alerts = [a.payload for a in db.scalars(select(AlertRecord).where(AlertRecord.session_id == session_id)
                                                .order_by(AlertRecord.timestamp))]
    timeline = charts.lsi_timeline([(w.window_end, w.lsi) for w in windows], segments)
    return render_template("session.html", record=record, room=room, windows=windows, rows=rows,
                           timeline=timeline, alerts=alerts)


def _window_row(window: WindowRecord) -> dict:
    p = window.payload
    segment = p.get("segment") or {}
    return {"seq": window.seq, "window_start": window.window_start, "window_end": window.window_end,
            "faces": p.get("faces"), "faces_min": p.get("faces_min"), "faces_max": p.get("faces_max"),
            "lsi": p.get("lsi"), "lsi_std": p.get("lsi_std"), "negative_share": p.get("negative_share"),
            "transitions": p.get("transitions"), "change_rate": p.get("change_rate"),
            "suppressed": p.get("suppressed"), "segment_kind": segment.get("kind", ""),
            "segment_label": segment.get("label", ""), "emotions": p.get("emotions")}


@bp.route("/sessions/<session_id>.csv")
def session_csv(session_id: str):
    session_or_403(session_id)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS) + [f"share_{n}" for n in charts.EMOTION_COLOURS])
    writer.writeheader()
    for window in _session_windows(session_id):
        row = _window_row(window)
        emotions = row.pop("emotions") or {}
        writer.writerow({**row, **{f"share_{n}": emotions.get(n, "") for n in charts.EMOTION_COLOURS}})
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=session-{session_id}.csv"})


@bp.route("/api/sessions/<session_id>/windows")
def api_session_windows(session_id: str):
    record, room = session_or_403(session_id)
    return jsonify({"session": {"id": record.id, "device_id": record.device_id, "label": record.label,
                                "started_at": record.started_at, "ended_at": record.ended_at},
                    "windows": [_window_row(w) for w in _session_windows(session_id)]})


@bp.route("/api/rooms")
def api_rooms():
    return jsonify([{"device_id": r.device_id, "name": r.name, "availability": r.availability,
                     "recording": recording(r), "state": r.state, "last_seen": r.last_seen}
                    for r in visible_rooms()])


@bp.route("/health")
def health():
    return render_template("health.html", rooms=visible_rooms(), now=time.time(),
                           feed_connected=current_app.config["INGEST"].connected)


@bp.route("/healthz")
def healthz():
    """For monitoring, without a log-in (figures only, no classroom data): 200 ok, 429 degraded
    (working, but something needs attention), 503 failed (the database cannot be reached)."""
    ingest = current_app.config["INGEST"]
    problems, failed = [], False
    try:
        with _db() as db:
            db.execute(select(1))
    except Exception as error:  # whatever the driver raises, the answer is "failed", with why
        problems.append(f"database unreachable: {type(error).__name__}")
        failed = True
    if not ingest.connected:
        problems.append(f"not connected to the broker {ingest.host}:{ingest.port}: the feed waits in its queue")
    if ingest.storing_fails:
        problems.append("storing feed messages fails: they stay with the broker and are sent again")
    status = "failed" if failed else "degraded" if problems else "ok"
    lag = ingest.last_lag
    return jsonify({"status": status, "problems": problems, "broker_connected": ingest.connected,
                    "ingest_lag_seconds": None if lag is None else round(lag, 1)}), HEALTH_CODES[status]


@bp.route("/metrics")
@admin_required
def metrics():
    """Prometheus text format: refused messages by device and reason, stored by topic, devices by approval."""
    return Response(current_app.config["METRICS"].text(), mimetype="text/plain; version=0.0.4")


def _registry_action(action: str, form) -> str:
    """Approve, reject or revoke a device, or set its command token; returns what was done."""
    with current_app.config["SESSIONS"].begin() as db:
        room = db.get(Room, form.get("device_id", ""))
        if room is None:
            raise ValueError("unknown device")
        token = form.get("command_token", "").strip()
        if len(token) > 256:
            raise ValueError("a command token has at most 256 characters")
        if action == "approve":
            room.approval, room.received = APPROVED, None
            room.name = form.get("name", "").strip()[:120] or room.name
            room.command_token = token or room.command_token
            return f"Device {room.device_id} approved: its data is stored from now on."
        if action == "set_token":
            room.command_token = token or None
            return f"Command token of {room.device_id} {'saved' if token else 'removed'}."
        if action in ("reject", "revoke"):
            room.approval = REJECTED if action == "reject" else REVOKED
            room.command_token = None
            return (f"Device {room.device_id} {room.approval}: its messages are refused. Revoke its broker "
                    "account too (docs/service.md#broker-accounts).")
    raise ValueError("unknown action")


@bp.route("/admin", methods=["GET", "POST"])
@admin_required
def admin():
    from dashboard.auth import create_user

    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action in ("approve", "reject", "revoke", "set_token"):
                flash(_registry_action(action, request.form), "ok")
            elif action == "create_user":
                create_user(current_app.config["SESSIONS"], request.form.get("username", "").strip(),
                            request.form.get("password", ""), request.form.get("role", "teacher"))
                flash("User created.", "ok")
            elif action == "assign":
                with current_app.config["SESSIONS"].begin() as db:
                    room = db.get(Room, request.form.get("device_id", ""))
                    if room is None:
                        raise ValueError("unknown room")
                    teacher = request.form.get("teacher_id", "")
                    room.teacher_id = int(teacher) if teacher else None
                    room.name = request.form.get("name", room.name)[:120] or room.name
                flash("Room updated.", "ok")
            else:
                raise ValueError("unknown action")
        except ValueError as error:
            flash(str(error), "error")
        return redirect(url_for("views.admin"))
    with _db() as db:
        users = list(db.scalars(select(User).order_by(User.username)))
        others = list(db.scalars(select(Room).where(Room.approval != APPROVED)
                                 .order_by(Room.approval.desc(), Room.first_seen)))
    local = current_app.config["DASHBOARD"].local_device_id
    return render_template("admin.html", users=users, rooms=visible_rooms(), others=others, local_device=local)
