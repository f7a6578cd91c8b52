"""The teacher dashboard: a Flask app fed by the appliances' MQTT feed (through lsi_contract)."""

from __future__ import annotations

import datetime as dt
import math

from flask import Flask, g
from flask.json.provider import DefaultJSONProvider

from dashboard.config import DashboardConfig, secret_key
from dashboard.gaps import GapFiller
from dashboard.ingest import EventHub, Ingest
from dashboard.metrics import FeedMetrics
from dashboard.models import open_database
from dashboard.security import LoginLimiter, csrf_token, require_login, security_headers


def finite(value):
    """Non-finite numbers as null, recursively: strict JSON parsers refuse NaN and Infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Every JSON answer is strict JSON, whatever a row stored before validation holds."""

    def dumps(self, obj, **kwargs):
        kwargs.setdefault("allow_nan", False)
        return super().dumps(finite(obj), **kwargs)


def _time_filter(fmt: str):
    def render(epoch) -> str:
        try:
            return dt.datetime.fromtimestamp(epoch).strftime(fmt) if epoch else "—"
        except (TypeError, ValueError, OverflowError, OSError):  # a time no clock shows
            return "—"
    return render


def create_app(cfg: DashboardConfig | None = None, start_feed: bool = True) -> Flask:
    cfg = cfg or DashboardConfig()
    app = Flask(__name__)
    app.json = StrictJSONProvider(app)
    engine, sessions = open_database(cfg.database_url)
    hub = EventHub()
    metrics = FeedMetrics(sessions, connected=lambda: ingest.connected)
    ingest = Ingest(sessions, hub, cfg, metrics)
    gaps = GapFiller(sessions, ingest, cfg.gap_check_seconds, cfg.command_timeout_seconds)
    app.config.update(
        SECRET_KEY=secret_key(cfg), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.secure_cookies, PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        SESSIONS=sessions, ENGINE=engine, HUB=hub, INGEST=ingest, METRICS=metrics, GAPS=gaps,
        LOGIN_LIMITER=LoginLimiter(cfg.login_attempts), COMMAND_TIMEOUT=cfg.command_timeout_seconds, DASHBOARD=cfg)

    from dashboard import auth, views
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.before_request(auth.load_user)
    app.before_request(require_login)
    app.after_request(security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["clock"] = _time_filter("%H:%M:%S")
    app.jinja_env.filters["date"] = _time_filter("%Y-%m-%d %H:%M")

    @app.context_processor
    def _user():
        return {"user": g.get("user")}

    if start_feed:
        ingest.start()
        gaps.start()  # ends with the feed
    return app
