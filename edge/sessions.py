"""The recording session: none → recording ⇄ paused → none. Sessions are rows in the store;
windows count towards the session that is recording when they close."""

from __future__ import annotations

import threading

from edge.storage.store import Store


class SessionError(ValueError):
    """A transition that is not possible now; the message says why."""


class Sessions:
    def __init__(self, store: Store):
        self.store = store
        self.id: str | None = None
        self.label = ""
        self.paused = False
        self._lock = threading.Lock()  # commands arrive in the MQTT thread, windows in the pipeline's

    @property
    def recording(self) -> str | None:
        """The session windows count towards now: none while paused."""
        return None if self.paused else self.id

    def info(self) -> dict | None:
        with self._lock:
            if self.id is None:
                return None
            return {"id": self.id, "label": self.label, "state": "paused" if self.paused else "recording"}

    def start(self, label: str, now: float) -> str:
        """Starts a session, ending the running one."""
        with self._lock:
            if self.id is not None:
                self.store.end_session(self.id, now)
            self.id = self.store.start_session(label, now)
            self.label, self.paused = label, False
            return f"session {self.id} started"

    def stop(self, now: float) -> str:
        with self._lock:
            ended = self._running()
            self.store.end_session(ended, now)
            self.id, self.paused = None, False
            return f"session {ended} stopped"

    def pause(self) -> str:
        with self._lock:
            self._running()
            if self.paused:
                raise SessionError("session is already paused")
            self.paused = True
            return "session paused"

    def resume(self) -> str:
        with self._lock:
            self._running()
            if not self.paused:
                raise SessionError("session is not paused")
            self.paused = False
            return "session resumed"

    def _running(self) -> str:
        if self.id is None:
            raise SessionError("no session is running; send session/start first")
        return self.id
