"""Log in / log out, and the accounts command (no default password: the first admin is created by CLI)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.models import User
from dashboard.security import check_csrf

bp = Blueprint("auth", __name__)
MIN_PASSWORD = 10


def create_user(sessions, username: str, password: str, role: str) -> None:
    if role not in ("admin", "teacher"):
        raise ValueError("role must be admin or teacher")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    if not username or len(username) > 64:
        raise ValueError("user name must have 1 to 64 characters")
    with sessions.begin() as db:
        if db.scalar(select(User).where(User.username == username)) is not None:
            raise ValueError(f"user {username!r} exists already")
        db.add(User(username=username, password_hash=generate_password_hash(password), role=role))


def load_user() -> None:
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        with current_app.config["SESSIONS"]() as db:
            g.user = db.get(User, user_id)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        check_csrf()
        limiter = current_app.config["LOGIN_LIMITER"]
        key = request.remote_addr or "unknown"
        if limiter.blocked(key):
            abort(429, description="too many failed logins; wait five minutes")
        username = request.form.get("username", "")[:64]
        password = request.form.get("password", "")[:256]
        with current_app.config["SESSIONS"]() as db:
            user = db.scalar(select(User).where(User.username == username))
        if user is None or not check_password_hash(user.password_hash, password):
            limiter.fail(key)
            flash("Wrong user name or password.", "error")
            return render_template("login.html"), 401
        limiter.reset(key)
        csrf = session.get("csrf")
        session.clear()
        session["user_id"], session["csrf"] = user.id, csrf
        session.permanent = True
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("views.rooms"))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
