"""The command table: each MQTT command (edge/mqtt/topics.py) → its handler. Every command is
validated first (edge/mqtt/commands.py) and every one gets an answer for …/cmd/result."""

from __future__ import annotations

import logging
import time
from typing import Callable

from edge.mqtt.commands import CommandError, SegmentStart, parse_command, request_id_of
from edge.mqtt.topics import COMMANDS
from edge.pipeline import Pipeline
from edge.sessions import SessionError, Sessions

log = logging.getLogger("lsi_edge.commands")


class CommandTable:
    def __init__(self, sessions: Sessions, pipeline: Pipeline, token: str | None,
                 on_change: Callable[[], None] = lambda: None):
        self.sessions, self.pipeline, self._token, self._on_change = sessions, pipeline, token, on_change
        self._handlers: dict[str, Callable] = {
            "session/start": lambda c: sessions.start(c.label, time.time()),
            "session/stop": lambda c: sessions.stop(time.time()),
            "session/pause": lambda c: sessions.pause(),
            "session/resume": lambda c: sessions.resume(),
            "segment/start": self._segment_start,
        }
        assert set(self._handlers) == set(COMMANDS)
        self.accepted = 0
        self.rejected = 0
        self._rejection_kinds: set[str] = set()

    def _segment_start(self, command: SegmentStart) -> str:
        self.pipeline.start_segment(command.type, command.label)
        return f"segment {command.type} {command.label!r} starts with the next frame"

    def handle(self, name: str, payload: bytes) -> dict:
        """Validate and apply; returns the answer. Never raises: a command must not stop the daemon."""
        request_id = request_id_of(payload)
        try:
            command = parse_command(name, payload, self._token)
            request_id = command.request_id
            detail = self._handlers[name](command)
        except (CommandError, SessionError) as error:
            return self._reject(name, request_id, str(error))
        except Exception as error:
            log.exception("command %s failed", name)
            return self._reject(name, request_id, f"internal error: {type(error).__name__}")
        self.accepted += 1
        log.info("command %s: %s", name, detail)
        self._on_change()
        return {"command": name, "request_id": request_id, "ok": True, "detail": detail, "timestamp": time.time()}

    def _reject(self, name: str, request_id: str | None, error: str) -> dict:
        self.rejected += 1
        kind = error.split(":")[0][:40]
        if kind not in self._rejection_kinds:  # log each kind of rejection once; count all
            self._rejection_kinds.add(kind)
            log.warning("rejected command %r: %s (further rejections of this kind are only counted)",
                        name[:60], error)
        return {"command": name[:100], "request_id": request_id, "ok": False, "error": error,
                "timestamp": time.time()}
