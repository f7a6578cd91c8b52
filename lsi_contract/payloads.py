"""Payload models of every published topic, with the limits a receiver enforces.

The appliance builds each message with `build()`; the dashboard parses each one with
`parse_message()`, which refuses (with a reason) whatever the contract does not allow: more than
MAX_MESSAGE_BYTES, not JSON, a value out of range or not finite, a string or list too long, a
payload claiming another device than its topic, a timestamp before the product existed or more
than a day ahead of the receiver's clock (a 30-day backlog replayed after an outage still
passes). Their JSON Schemas are in docs/mqtt-schemas/ (`python -m lsi_contract.schemas`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from lsi_contract.labels import ANALYSIS_MODES, EXPRESSION_LABELS, SEGMENT_KINDS
from lsi_contract.sequence import EPOCH_PATTERN
from lsi_contract.topics import (
    AGGREGATE,
    ALERT,
    AVAILABILITY,
    AVAILABILITY_VALUES,
    COMMAND_RESULT,
    DEVICE_ID_PATTERN,
    SEGMENT,
    STATE,
    STATS,
)

MAX_MESSAGE_BYTES = 16 * 1024  # an aggregate is under 1 KB, a state with placement findings under 3 KB
EARLIEST_TIMESTAMP = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()  # before LSI Edge existed
MAX_AHEAD_SECONDS = 86_400.0
MAX_FACES = 1000  # per frame; a lecture hall holds a few hundred
MAX_SHARE_SUM_ERROR = 0.01  # shares are rounded to 4 decimals
SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"
REQUEST_ID_MAX = 64
LABEL_MAX = 200
MESSAGE_MAX = 500

# Why a message was refused: the labels of the dashboard's refusal counter.
TOO_LARGE, NOT_JSON, INVALID, WRONG_DEVICE = "too_large", "not_json", "invalid", "wrong_device"
REFUSAL_REASONS = (TOO_LARGE, NOT_JSON, INVALID, WRONG_DEVICE)


class Refused(ValueError):
    """A message the contract does not allow; reason is one of REFUSAL_REASONS."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _plausible_time(value: float, info: ValidationInfo) -> float:
    """Checked by a receiver, which passes its clock as context {"now": epoch seconds}. The sender
    builds without it: a box whose clock is wrong still stores its data, and `doctor` says so."""
    now = (info.context or {}).get("now")
    if now is None:
        return value
    if value < EARLIEST_TIMESTAMP:
        raise ValueError(f"{value:.0f} is before 2024-01-01: the sender's clock is wrong")
    if value > now + MAX_AHEAD_SECONDS:
        raise ValueError(f"{value:.0f} is more than a day ahead of the receiver's clock ({now:.0f})")
    return value


Timestamp = Annotated[float, AfterValidator(_plausible_time),
                      Field(description="epoch seconds; not before 2024, not more than a day ahead of the "
                                        "receiver's clock")]
Share = Annotated[float, Field(ge=0, le=1)]
Index = Annotated[float, Field(ge=0, le=100)]
FaceCount = Annotated[float, Field(ge=0, le=MAX_FACES)]
Count = Annotated[int, Field(ge=0, le=2**53)]
Rate = Annotated[float, Field(ge=0, le=1e6)]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN, description="the sender; equals the topic's device")]
SessionId = Annotated[str, Field(pattern=SESSION_ID_PATTERN)]
Epoch = Annotated[str, Field(pattern=EPOCH_PATTERN, description="the box's store: seq counts within it (a new "
                                                                "database starts a new epoch)")]
Seq = Annotated[int, Field(ge=1, le=2**53, description="one per-device sequence across windows, segment summaries "
                                                        "and alerts; de-duplicate and find gaps with (device, "
                                                        "epoch, seq)")]
Label = Annotated[str, Field(max_length=LABEL_MAX)]
SegmentKind = Literal[SEGMENT_KINDS]  # type: ignore[valid-type]
ExpressionName = Literal[EXPRESSION_LABELS]  # type: ignore[valid-type]


STORED = ("false: published live while the box could not store it (e.g. a full disk); it comes again, "
          "stored, once storing works (same seq)")


HEALTH_STATUSES = ("ok", "degraded", "failed")
# /healthz of the box and of the dashboard: the three told apart by status, as Consul's HTTP checks
# read them (2xx passing, 429 warning, else critical).
HEALTH_CODES = dict(zip(HEALTH_STATUSES, (200, 429, 503)))


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=MESSAGE_MAX)


def _check_shares(shares: dict[str, float] | None) -> dict[str, float] | None:
    if shares is not None and shares and abs(sum(shares.values()) - 1.0) > MAX_SHARE_SUM_ERROR:
        raise ValueError(f"class shares sum to {sum(shares.values()):.4f}, not 1")
    return shares


Shares = Annotated[dict[ExpressionName, Share], AfterValidator(_check_shares)]


class SegmentRef(Payload):
    kind: SegmentKind
    label: Label
    start: Timestamp


class Aggregate(Payload):
    """…/aggregate: one window of the class, QoS 1, not retained."""

    device_id: DeviceId
    epoch: Epoch | None = None  # absent from boxes before epochs
    seq: Seq
    session_id: SessionId | None = Field(description="recording session, null when none is recording")
    window_start: Timestamp
    window_end: Timestamp
    analysis: Literal[ANALYSIS_MODES] = Field(  # type: ignore[valid-type]
        description="attention: the device reads no expressions at all (presence and attention only)")
    faces: FaceCount = Field(description="mean faces present (confirmed tracks, readable or not)")
    faces_min: Annotated[int, Field(ge=0, le=MAX_FACES)]
    faces_max: Annotated[int, Field(ge=0, le=MAX_FACES)]
    faces_read: FaceCount | None = Field(description="mean readable faces (frontal enough, large enough) "
                                                     "that gave expression readings; null when suppressed")
    attention: Share | None = Field(description="share of present faces with the head up toward the front of the "
                                                "room (note-taking reads as heads down: not a judgement of "
                                                "attentiveness); null when suppressed")
    lsi: Index | None = Field(description="class LSI 0–100 from the class shares; bands in docs/mqtt.md; null "
                                          "when the expression part is suppressed")
    lsi_low: Index | None = Field(description="95 % interval of the LSI (bootstrap over faces)")
    lsi_high: Index | None
    lsi_std: Index | None = Field(description="spread of the readable faces' own LSI")
    emotions: Shares | None = Field(description="class shares of the readable faces (sum 1), corrected for the "
                                                "model's measured confusion (lsi.shares); null when the "
                                                "expression part is suppressed")
    negative_share: Share | None = Field(description="share of the classes with a negative weight")
    transitions: Count
    change_rate: Rate | None
    suppressed: bool = Field(description="true when fewer than privacy.min_faces faces: nothing but the count")
    expression_suppressed: bool = Field(description="true when fewer than privacy.min_faces readable faces (or in "
                                                    "attention mode): no LSI, no shares; presence and attention "
                                                    "are still given")
    updates: Count
    segment: SegmentRef | None
    stored: bool = Field(True, description=STORED)

    @model_validator(mode="after")
    def _consistent(self):
        if not 0 <= self.window_end - self.window_start <= 3600:
            raise ValueError("window_end must follow window_start by at most an hour")
        if self.faces_min > self.faces_max:
            raise ValueError("faces_min exceeds faces_max")
        if self.expression_suppressed and (self.lsi is not None or self.emotions is not None):
            raise ValueError("an expression-suppressed window carries no lsi and no emotions")
        return self


class SegmentEnd(Payload):
    """…/segment: summary of a teaching segment when it ends, QoS 1."""

    device_id: DeviceId
    epoch: Epoch | None = None
    seq: Seq | None = None  # absent from boxes before one sequence
    session_id: SessionId | None
    kind: SegmentKind
    label: Label
    start: Timestamp
    end: Timestamp
    windows: Count
    reported_windows: Count
    lsi_mean: Index | None
    lsi_ci95_low: float | None = Field(ge=-100, le=200, description="may leave 0–100: a t interval of the mean")
    lsi_ci95_high: float | None = Field(ge=-100, le=200)
    faces_mean: FaceCount | None
    stored: bool = Field(True, description=STORED)

    @model_validator(mode="after")
    def _ordered(self):
        if not 0 <= self.end - self.start <= 86_400:
            raise ValueError("end must follow start by at most a day")
        return self


class AlertPayload(Payload):
    """…/alert: an anonymous early-warning event, QoS 1."""

    device_id: DeviceId
    epoch: Epoch | None = None
    seq: Seq | None = None
    session_id: SessionId | None
    kind: Literal["lsi_drop", "negative_share"]
    timestamp: Timestamp
    segment: SegmentRef | None
    value: float = Field(ge=0, le=100, description="lsi_drop: the LSI; negative_share: the share 0–1")
    reference: float = Field(ge=0, le=100, description="the baseline LSI, or the share threshold")
    sustained_seconds: float = Field(ge=0, le=86_400)
    message: str
    stored: bool = Field(True, description=STORED)


class SessionState(Payload):
    id: SessionId
    label: Label
    state: Literal["recording", "paused"]


class PlacementFinding(Payload):
    kind: Literal["no_faces", "too_small", "from_above", "from_side", "backlit"]
    message: str = Field(description="what is wrong, with its figure, and the fix")


class Placement(Payload):
    good: bool
    summary: str
    findings: list[PlacementFinding] = Field(max_length=8)


class State(Payload):
    """…/state: retained snapshot, on change and every mqtt.state_seconds."""

    device_id: DeviceId
    timestamp: Timestamp
    session: SessionState | None
    segment: SegmentRef | None
    faces: FaceCount | None
    faces_read: FaceCount | None = Field(description="readable faces in the last window")
    attention: Share | None = Field(description="share of present faces with the head up, last window")
    lsi: Index | None
    placement: Placement | None = Field(description="why the room stays unreadable (camera placement, over the "
                                                    "last two minutes: lsi-edge survey's verdict); null while "
                                                    "it reads")
    fps: Rate
    broker: Literal["connected", "disconnected"]
    camera: Literal["starting", "up", "down", "ended"]
    health: Literal[HEALTH_STATUSES] = Field("ok", description="the box's /healthz verdict")  # type: ignore[valid-type]
    problems: list[str] = Field([], max_length=8, description="why it is degraded (broker unreachable, source "
                                                              "down, the store failing, an old backlog)")


class Stats(Payload):
    """…/stats: health figures every mqtt.stats_seconds; rates over the last minute, counts since the start."""

    device_id: DeviceId
    timestamp: Timestamp
    uptime_s: Rate
    fps: Rate = Field(description="processed frames per second over the last minute")
    frames: Count
    faces_classified: Count
    inference_ms_per_face: Rate = Field(description="expression model time per face over the last minute")
    ms_per_frame: dict[Annotated[str, Field(max_length=32)], Rate] = Field(
        max_length=32, description="time per frame in each pipeline stage over the last minute")
    frame_errors: Count
    camera_state: Annotated[str, Field(max_length=16)]
    camera_reconnects: Count
    broker_reconnects: Count
    published: Count
    outbox_depth: Count
    outbox_given_up: Count
    commands_ok: Count
    commands_rejected: Count


class CommandResult(Payload):
    """…/cmd/result: the answer to every command, QoS 1. It counts only on the topic of the device
    the command went to (the broker lets only that device publish there)."""

    command: Annotated[str, Field(max_length=100)]
    request_id: Annotated[str, Field(max_length=REQUEST_ID_MAX)] | None
    ok: bool
    detail: str | None = None
    error: str | None = None
    timestamp: Timestamp
    missing: list[tuple[Seq, Seq]] | None = Field(None, max_length=100, description="replay: the asked ranges the "
                                                                                     "box no longer stores")


class Availability(Payload):
    """…/availability: retained plain text (online, offline: the broker's last will, stopped)."""

    status: Literal[AVAILABILITY_VALUES]  # type: ignore[valid-type]


MODELS: dict[str, type[Payload]] = {AGGREGATE: Aggregate, SEGMENT: SegmentEnd, ALERT: AlertPayload, STATE: State,
                                    STATS: Stats, COMMAND_RESULT: CommandResult}


def build(model: type[Payload], **fields) -> dict:
    """A message as JSON-ready data, validated (a sender's bug fails here, not at every receiver)."""
    return model.model_validate(fields).model_dump(mode="json")


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "payload"
    return f"{where}: {first['msg']}"[:200]


def parse_message(leaf: str, device_id: str, payload: bytes, now: float) -> Payload:
    """The validated message a device published on `<prefix>/<device_id>/<leaf>`, or Refused."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise Refused(TOO_LARGE, f"{len(payload)} bytes, more than {MAX_MESSAGE_BYTES}")
    if leaf == AVAILABILITY:
        try:
            return Availability(status=payload.decode("ascii"))
        except (UnicodeDecodeError, ValidationError):
            raise Refused(INVALID, f"availability must be one of {', '.join(AVAILABILITY_VALUES)}") from None
    try:
        # Python's json accepts NaN and Infinity; the contract does not (allow_inf_nan=False).
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Refused(NOT_JSON, str(error)[:120]) from None
    if not isinstance(data, dict):
        raise Refused(NOT_JSON, "not a JSON object")
    try:
        message = MODELS[leaf].model_validate(data, context={"now": now})
    except ValidationError as error:
        raise Refused(INVALID, _first_error(error)) from None
    claimed = getattr(message, "device_id", device_id)
    if claimed != device_id:
        raise Refused(WRONG_DEVICE, f"payload says device {claimed!r}, its topic {device_id!r}")
    return message

