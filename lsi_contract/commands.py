"""Commands to a device (`<prefix>/<device>/cmd/<name>`): size-limited, strictly validated JSON,
carrying the device's command token. Every command gets an answer on …/cmd/result."""

from __future__ import annotations

import hmac
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lsi_contract.labels import SEGMENT_KINDS
from lsi_contract.payloads import LABEL_MAX, REQUEST_ID_MAX
from lsi_contract.sequence import EPOCH_PATTERN, REPLAY_MAX
from lsi_contract.topics import COMMANDS

MAX_COMMAND_BYTES = 4096
UNAUTHORISED = "unauthorised"  # the first word of the answer to a command without the right token


class CommandError(ValueError):
    """A refused command; the message is safe to send back, and its first word is its kind."""


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=LABEL_MAX)
    request_id: str | None = Field(None, max_length=REQUEST_ID_MAX, description="echoed in the result")
    token: str | None = Field(None, max_length=256, description="the device's command token (`lsi-edge token`)")


class SessionStart(Command):
    label: str = Field("", max_length=LABEL_MAX)


class SessionControl(Command):
    pass


class SegmentStart(Command):
    type: Literal[SEGMENT_KINDS] = Field(description="activity type")  # type: ignore[valid-type]
    label: str = Field("", max_length=LABEL_MAX)


class Replay(Command):
    """Publish again the stored messages of one epoch with first ≤ seq ≤ last (at most REPLAY_MAX)."""

    epoch: str = Field(pattern=EPOCH_PATTERN)
    first: int = Field(ge=1, le=2**53)
    last: int = Field(ge=1, le=2**53)

    @model_validator(mode="after")
    def _span(self):
        if not 0 <= self.last - self.first < REPLAY_MAX:
            raise ValueError(f"last must be at least first and at most first + {REPLAY_MAX - 1}")
        return self


SCHEMAS: dict[str, type[Command]] = {"session/start": SessionStart, "session/stop": SessionControl,
                                     "session/pause": SessionControl, "session/resume": SessionControl,
                                     "segment/start": SegmentStart, "replay": Replay}
assert set(SCHEMAS) == set(COMMANDS)


def build_command(name: str, token: str | None, **fields) -> str:
    """The JSON text of a command, validated."""
    return SCHEMAS[name].model_validate({**fields, "token": token}).model_dump_json(exclude_none=True)


def parse_command(name: str, payload: bytes, required_token: str | None) -> Command:
    """Validated command, or CommandError saying what is wrong."""
    if name not in SCHEMAS:
        raise CommandError(f"unknown command: {name[:60]!r}; known: {', '.join(COMMANDS)}")
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"too large: payload of {len(payload)} bytes exceeds {MAX_COMMAND_BYTES}")
    try:
        data = json.loads(payload.decode("utf-8")) if payload.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"not JSON: {str(error)[:80]}") from None
    except RecursionError:
        raise CommandError("not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise CommandError("not JSON: the payload must be a JSON object")
    try:
        command = SCHEMAS[name].model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise CommandError(f"invalid: {where}: {first['msg']}") from None
    if required_token and not hmac.compare_digest((command.token or "").encode(), required_token.encode()):
        raise CommandError(f"{UNAUTHORISED}: missing or wrong token (the device's token is printed by "
                           "`lsi-edge token` on the device)")
    return command


def request_id_of(payload: bytes) -> str | None:
    """Best-effort request id of a payload that failed validation, so the answer can be matched."""
    try:
        data = json.loads(payload[:MAX_COMMAND_BYTES].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= REQUEST_ID_MAX else None
