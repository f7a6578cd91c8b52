"""The command table: each MQTT command (lsi_contract.topics.COMMANDS) → its handler. Every command
is validated first, token included (lsi_contract.commands), and every one gets an answer for
…/cmd/result."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from edge.pipeline import Pipeline
from edge.sessions import SessionError, Sessions
from lsi_contract.commands import CommandError, Replay, SegmentStart, parse_command, request_id_of
from lsi_contract.credentials import ensure_token, read_secret_file
from lsi_contract.payloads import CommandResult, build
from lsi_contract.sequence import REPLAY_INTERVAL_SECONDS
from lsi_contract.topics import COMMANDS

log = logging.getLogger("lsi_edge.commands")


class CommandToken:
    """The box's command token, made on first start; re-read on each command, so that
    `lsi-edge token --rotate` applies at once. Should the file become unreadable, the last token
    read stays in force (commands are never let through without one)."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._value = ensure_token(path)
        except OSError as error:
            raise ValueError(f"command token {path}: cannot create it ({error}); set mqtt.command_token_file "
                             "to a writable place") from error
        self._warned = False

    def __call__(self) -> str:
        try:
            self._value = read_secret_file(self.path)
        except ValueError as error:
            if not self._warned:
                self._warned = True
                log.warning("%s; commands keep needing the token read before", error)
        return self._value


class CommandTable:
    def __init__(self, sessions: Sessions, pipeline: Pipeline, token: CommandToken,
                 replay: Callable[[str, int, int], tuple[int, list[tuple[int, int]]]],
                 on_change: Callable[[], None] = lambda: None, clock=time.monotonic):
        """token: the command token now (read per command, so a rotated token applies at once);
        replay: publishes stored messages again (epoch, first, last) → (how many, ranges not stored)."""
        self.sessions, self.pipeline, self.token, self._on_change = sessions, pipeline, token, on_change
        self._replay_stored, self._clock, self._last_replay = replay, clock, -REPLAY_INTERVAL_SECONDS
        self._handlers: dict[str, Callable] = {
            "session/start": lambda c: sessions.start(c.label, time.time()),
            "session/stop": lambda c: sessions.stop(time.time()),
            "session/pause": lambda c: sessions.pause(),
            "session/resume": lambda c: sessions.resume(),
            "segment/start": self._segment_start,
            "replay": self._replay,
        }
        assert set(self._handlers) == set(COMMANDS)
        self.accepted = 0
        self.rejected: dict[str, int] = {}  # by kind: unauthorised, invalid, …
        self._rejection_kinds: set[str] = set()

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def _segment_start(self, command: SegmentStart) -> str:
        self.pipeline.start_segment(command.type, command.label)
        return f"segment {command.type} {command.label!r} starts with the next frame"

    def _replay(self, command: Replay) -> tuple[str, dict]:
        now = self._clock()
        if now - self._last_replay < REPLAY_INTERVAL_SECONDS:
            raise CommandError(f"rate limited: one replay per {REPLAY_INTERVAL_SECONDS:g} s; ask again")
        self._last_replay = now
        count, missing = self._replay_stored(command.epoch, command.first, command.last)
        detail = f"replaying {count} stored messages of seq {command.first}–{command.last}"
        if missing:
            detail += "; no longer stored: " + ", ".join(f"{a}–{b}" for a, b in missing[:5])
        return detail, {"missing": missing[:100]}

    def handle(self, name: str, payload: bytes) -> dict:
        """Validate and apply; returns the answer. Never raises: a command must not stop the daemon."""
        request_id = request_id_of(payload)
        try:
            command = parse_command(name, payload, self.token())
            request_id = command.request_id
            answer = self._handlers[name](command)
        except (CommandError, SessionError) as error:
            return self._reject(name, request_id, str(error))
        except Exception as error:
            log.exception("command %s failed", name)
            return self._reject(name, request_id, f"internal error: {type(error).__name__}")
        detail, extra = answer if isinstance(answer, tuple) else (answer, {})
        self.accepted += 1
        log.info("command %s: %s", name, detail)
        self._on_change()
        return build(CommandResult, command=name, request_id=request_id, ok=True, detail=detail,
                     timestamp=time.time(), **extra)

    def _reject(self, name: str, request_id: str | None, error: str) -> dict:
        kind = error.split(":")[0][:40]
        self.rejected[kind] = self.rejected.get(kind, 0) + 1
        if kind not in self._rejection_kinds:  # log each kind of rejection once; count all
            self._rejection_kinds.add(kind)
            log.warning("rejected command %r: %s (further rejections of this kind are only counted)",
                        name[:60], error)
        return build(CommandResult, command=name[:100], request_id=request_id, ok=False, error=error,
                     timestamp=time.time())
