"""Incoming commands: size-limited, strictly validated JSON; every one gets an answer."""

from __future__ import annotations

import hmac
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.lsi.segments import SEGMENT_KINDS
from edge.mqtt.topics import COMMANDS

MAX_PAYLOAD_BYTES = 4096


class CommandError(ValueError):
    """A rejected command; the message is safe to send back."""


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200)
    request_id: str | None = Field(None, max_length=64, description="echoed in the result")
    token: str | None = Field(None, max_length=256, description="shared secret, when the device requires one")


class SessionStart(_Command):
    label: str = Field("", max_length=200)


class SessionControl(_Command):
    pass


class SegmentStart(_Command):
    type: Literal[SEGMENT_KINDS] = Field(description="activity type")  # type: ignore[valid-type]
    label: str = Field("", max_length=200)


SCHEMAS: dict[str, type[_Command]] = {"session/start": SessionStart, "session/stop": SessionControl,
                                      "session/pause": SessionControl, "session/resume": SessionControl,
                                      "segment/start": SegmentStart}
assert set(SCHEMAS) == set(COMMANDS)


def parse_command(name: str, payload: bytes, required_token: str | None) -> _Command:
    """Validated command, or CommandError saying what is wrong."""
    if name not in SCHEMAS:
        raise CommandError(f"unknown command {name[:60]!r}; known: {', '.join(COMMANDS)}")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CommandError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(payload.decode("utf-8")) if payload.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"payload is not JSON: {str(error)[:80]}") from None
    except RecursionError:
        raise CommandError("payload is nested too deeply") from None
    if not isinstance(data, dict):
        raise CommandError("payload must be a JSON object")
    try:
        command = SCHEMAS[name].model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise CommandError(f"{where}: {first['msg']}") from None
    if required_token and not hmac.compare_digest((command.token or "").encode(), required_token.encode()):
        raise CommandError("unauthorised: missing or wrong token")
    return command


def request_id_of(payload: bytes) -> str | None:
    """Best-effort request id of a payload that failed validation, so the answer can be matched."""
    try:
        data = json.loads(payload[:MAX_PAYLOAD_BYTES].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None
