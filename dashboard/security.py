"""CSRF tokens, login rate limiting, security headers, and the login requirement."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from functools import wraps

from flask import abort, g, redirect, request, session, url_for

PUBLIC_ENDPOINTS = {"auth.login", "static", "views.healthz"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Every state-changing request carries the session's token (form field or X-CSRF-Token header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="missing or invalid CSRF token; reload the page")


class LoginLimiter:
    def __init__(self, attempts: int, window_seconds: float = 300.0):
        self.attempts, self.window = attempts, window_seconds
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            failures = self._failures[key]
            while failures and failures[0] < now - self.window:
                failures.popleft()
            return len(failures) >= self.attempts

    def fail(self, key: str) -> None:
        with self._lock:
            self._failures[key].append(time.monotonic())

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


def security_headers(response):
    response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                   "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def require_login():
    """before_request: every endpoint but login and static needs a logged-in user."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.get("user") is None:
        if request.path.startswith("/api/") or request.accept_mimetypes.best == "text/event-stream":
            abort(401)
        return redirect(url_for("auth.login", next=request.path))
    check_csrf()
    return None


def admin_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.user.role != "admin":
            abort(403)
        return view(*args, **kwargs)
    return wrapper
