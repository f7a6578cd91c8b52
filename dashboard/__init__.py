"""The teacher dashboard: a Flask app fed by the appliances' MQTT feed."""

from __future__ import annotations

import datetime as dt

from flask import Flask, g

from dashboard.config import DashboardConfig, secret_key
from dashboard.ingest import EventHub, Ingest
from dashboard.models import open_database
from dashboard.security import LoginLimiter, csrf_token, require_login, security_headers


def create_app(cfg: DashboardConfig | None = None, start_feed: bool = True) -> Flask:
    cfg = cfg or DashboardConfig()
    app = Flask(__name__)
    engine, sessions = open_database(cfg.database_url)
    hub = EventHub()
    ingest = Ingest(sessions, hub, cfg)
    app.config.update(
        SECRET_KEY=secret_key(cfg), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.secure_cookies, PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        SESSIONS=sessions, ENGINE=engine, HUB=hub, INGEST=ingest, LOGIN_LIMITER=LoginLimiter(cfg.login_attempts),
        COMMAND_TIMEOUT=cfg.command_timeout_seconds, DASHBOARD=cfg)

    from dashboard import auth, views
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.before_request(auth.load_user)
    app.before_request(require_login)
    app.after_request(security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["clock"] = lambda t: dt.datetime.fromtimestamp(t).strftime("%H:%M:%S") if t else "—"
    app.jinja_env.filters["date"] = lambda t: dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "—"

    @app.context_processor
    def _user():
        return {"user": g.get("user")}

    if start_feed:
        ingest.start()
    return app
