"""Payload models of every published topic; their JSON Schemas live in docs/mqtt-schemas/.

`python -m edge.mqtt.payloads` rewrites the schema files (a test checks they are current).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.paths import REPO_ROOT

SCHEMA_DIR = REPO_ROOT / "docs" / "mqtt-schemas"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentRef(_Payload):
    kind: str
    label: str
    start: float = Field(description="epoch seconds")


class Aggregate(_Payload):
    """…/aggregate: one window of the class, QoS 1, not retained."""

    device_id: str
    seq: int = Field(ge=1, description="per-device, monotonically increasing; de-duplicate and spot gaps with it")
    session_id: str | None = Field(description="recording session, null when none is recording")
    window_start: float = Field(description="epoch seconds")
    window_end: float = Field(description="epoch seconds")
    analysis: Literal["expression", "attention"] = Field(
        description="attention: the device reads no expressions at all (presence and attention only)")
    faces: float = Field(ge=0, description="mean faces present (confirmed tracks, readable or not)")
    faces_min: int = Field(ge=0)
    faces_max: int = Field(ge=0)
    faces_read: float | None = Field(ge=0, description="mean readable faces (frontal enough, large enough) "
                                                       "that gave expression readings; null when suppressed")
    attention: float | None = Field(ge=0, le=1, description="share of present faces with the head up toward the "
                                                            "front of the room (note-taking reads as heads down: "
                                                            "not a judgement of attentiveness); null when "
                                                            "suppressed")
    lsi: float | None = Field(ge=0, le=100, description="class LSI 0–100 from the class shares; bands in "
                                                        "docs/mqtt.md; null when the expression part is suppressed")
    lsi_low: float | None = Field(ge=0, le=100, description="95 % interval of the LSI (bootstrap over faces)")
    lsi_high: float | None = Field(ge=0, le=100)
    lsi_std: float | None = Field(ge=0, description="spread of the readable faces' own LSI")
    emotions: dict[str, float] | None = Field(description="class shares of the readable faces, corrected for the "
                                                          "model's measured confusion (lsi.shares); null when "
                                                          "the expression part is suppressed")
    negative_share: float | None = Field(ge=0, le=1, description="share of the classes with a negative weight")
    transitions: int = Field(ge=0)
    change_rate: float | None = Field(ge=0)
    suppressed: bool = Field(description="true when fewer than privacy.min_faces faces: nothing but the count")
    expression_suppressed: bool = Field(description="true when fewer than privacy.min_faces readable faces (or in "
                                                    "attention mode): no LSI, no shares; presence and attention "
                                                    "are still given")
    updates: int = Field(ge=0)
    segment: SegmentRef | None


class SegmentEnd(_Payload):
    """…/segment: summary of a teaching segment when it ends, QoS 1."""

    device_id: str
    session_id: str | None
    kind: str
    label: str
    start: float
    end: float
    windows: int = Field(ge=0)
    reported_windows: int = Field(ge=0)
    lsi_mean: float | None
    lsi_ci95_low: float | None
    lsi_ci95_high: float | None
    faces_mean: float | None


class AlertPayload(_Payload):
    """…/alert: an anonymous early-warning event, QoS 1."""

    device_id: str
    session_id: str | None
    kind: Literal["lsi_drop", "negative_share"]
    timestamp: float
    segment: SegmentRef | None
    value: float
    reference: float
    sustained_seconds: float
    message: str


class SessionState(_Payload):
    id: str
    label: str
    state: Literal["recording", "paused"]


class PlacementFinding(_Payload):
    kind: Literal["no_faces", "too_small", "from_above", "from_side", "backlit"]
    message: str = Field(description="what is wrong, with its figure, and the fix")


class Placement(_Payload):
    good: bool
    summary: str
    findings: list[PlacementFinding]


class State(_Payload):
    """…/state: retained snapshot, on change and every mqtt.state_seconds."""

    device_id: str
    timestamp: float
    session: SessionState | None
    segment: SegmentRef | None
    faces: float | None
    faces_read: float | None = Field(description="readable faces in the last window")
    attention: float | None = Field(description="share of present faces with the head up, last window")
    lsi: float | None
    placement: Placement | None = Field(description="why the room stays unreadable (camera placement, over the "
                                                    "last two minutes: lsi-edge survey's verdict); null while "
                                                    "it reads")
    fps: float
    broker: Literal["connected", "disconnected"]
    camera: Literal["starting", "up", "down", "ended"]


class Stats(_Payload):
    """…/stats: health figures every mqtt.stats_seconds; rates over the last minute, counts since the start."""

    device_id: str
    timestamp: float
    uptime_s: float
    fps: float = Field(description="processed frames per second over the last minute")
    frames: int
    faces_classified: int
    inference_ms_per_face: float = Field(description="expression model time per face over the last minute")
    ms_per_frame: dict[str, float] = Field(description="time per frame in each pipeline stage over the last minute")
    frame_errors: int
    camera_state: str
    camera_reconnects: int
    broker_reconnects: int
    published: int
    outbox_depth: int
    outbox_given_up: int
    commands_ok: int
    commands_rejected: int


class CommandResult(_Payload):
    """…/cmd/result: the answer to every command, QoS 1."""

    command: str
    request_id: str | None
    ok: bool
    detail: str | None = None
    error: str | None = None
    timestamp: float


SCHEMAS: dict[str, type[_Payload]] = {"aggregate": Aggregate, "segment": SegmentEnd, "alert": AlertPayload,
                                      "state": State, "stats": Stats, "cmd-result": CommandResult}


def schema_text(name: str) -> str:
    return json.dumps(SCHEMAS[name].model_json_schema(), indent=2) + "\n"


def write_schemas(folder: Path = SCHEMA_DIR) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SCHEMAS:
        (folder / f"{name}.json").write_text(schema_text(name))
    from edge.mqtt.commands import SCHEMAS as COMMAND_SCHEMAS
    for command, model in COMMAND_SCHEMAS.items():
        (folder / f"cmd-{command.replace('/', '-')}.json").write_text(
            json.dumps(model.model_json_schema(), indent=2) + "\n")


if __name__ == "__main__":
    write_schemas()
