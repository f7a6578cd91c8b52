"""The feed's one contract (lsi_contract): both programs use it, neither imports the other, the
published schemas are generated from it, and it refuses what a receiver must not store."""

import ast
import json
import math
import time
from pathlib import Path

import pytest

from edge.paths import REPO_ROOT
from lsi_contract.commands import CommandError, build_command, parse_command
from lsi_contract.payloads import MAX_MESSAGE_BYTES, Aggregate, Refused, parse_message
from lsi_contract.schemas import SCHEMA_DIR, schema_files
from tests.mqtt_helpers import aggregate_fields

NOW = time.time()


def _imports(package: str) -> dict[str, set[str]]:
    """Module file → the top-level packages it imports."""
    found = {}
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO_ROOT))] = names
    return found


@pytest.mark.parametrize("package, forbidden", [("dashboard", {"edge"}), ("edge", {"dashboard"}),
                                                ("lsi_contract", {"edge", "dashboard"})])
def test_each_side_imports_only_the_contract_of_the_other(package, forbidden):
    offenders = {module: names & forbidden for module, names in _imports(package).items() if names & forbidden}
    assert not offenders, f"{package} must not import {forbidden}: {offenders}"


def test_the_published_schemas_are_generated_from_the_contract():
    committed = {path.name: path.read_text() for path in Path(SCHEMA_DIR).glob("*.json")}
    assert committed == schema_files(), "docs/mqtt-schemas is stale: python -m lsi_contract.schemas"


def _parse(fields: dict, leaf: str = "aggregate", device: str = "room-a") -> object:
    return parse_message(leaf, device, json.dumps(fields, allow_nan=True).encode(), NOW)


def test_a_valid_window_passes_and_a_month_old_backlog_too():
    assert isinstance(_parse(aggregate_fields("room-a", 1, 60.0, NOW - 60)), Aggregate)
    assert _parse(aggregate_fields("room-a", 2, 60.0, NOW - 30 * 86_400)).seq == 2


@pytest.mark.parametrize("change, reason", [
    ({"lsi": -50.0}, "invalid"), ({"lsi": math.inf}, "invalid"), ({"lsi": -math.inf}, "invalid"),
    ({"lsi": math.nan}, "invalid"), ({"faces": 1e308}, "invalid"), ({"lsi": "abc"}, "invalid"),
    ({"emotions": {"happy": "x"}}, "invalid"), ({"emotions": {"happy": 0.9, "sad": 0.9}}, "invalid"),
    ({"window_end": 1e12}, "invalid"), ({"window_start": 1e9, "window_end": 1e9 + 5}, "invalid"),
    ({"seq": 0}, "invalid"), ({"device_id": "room-b"}, "wrong_device"), ({"extra": 1}, "invalid"),
    ({"segment": {"kind": "party", "label": "", "start": NOW}}, "invalid"),
    ({"faces_min": 20, "faces_max": 3}, "invalid"),
])
def test_bad_windows_are_refused_with_a_reason(change, reason):
    fields = {**aggregate_fields("room-a", 1, 60.0, NOW - 60), **change}
    with pytest.raises(Refused) as refused:
        _parse(fields)
    assert refused.value.reason == reason and refused.value.detail


def test_oversized_non_json_and_non_object_messages_are_refused():
    state = {"device_id": "room-a", "timestamp": NOW, "session": None, "segment": None, "faces": 1.0,
             "faces_read": 1.0, "attention": 0.5, "lsi": 50.0, "fps": 8.0, "broker": "connected", "camera": "up",
             "placement": {"good": False, "summary": "x" * 400, "findings": []}}
    assert _parse(state, "state").lsi == 50.0
    padded = json.dumps({**state, "padding": "x" * MAX_MESSAGE_BYTES}).encode()
    for payload, reason in ((padded, "too_large"), (b"{nope", "not_json"), (b"[1, 2]", "not_json"),
                            (b"\xff\xfe", "not_json")):
        with pytest.raises(Refused) as refused:
            parse_message("state", "room-a", payload, NOW)
        assert refused.value.reason == reason
    with pytest.raises(Refused):
        parse_message("availability", "room-a", b"hacked", NOW)
    assert parse_message("availability", "room-a", b"online", NOW).status == "online"


def test_a_state_that_would_close_a_lesson_must_still_be_well_formed():
    with pytest.raises(Refused):
        _parse({"device_id": "room-a", "timestamp": NOW, "session": {"id": "../x", "label": "", "state": "recording"},
                "segment": None, "faces": None, "faces_read": None, "attention": None, "lsi": None, "placement": None,
                "fps": 8.0, "broker": "connected", "camera": "up"}, "state")


def test_commands_are_built_and_parsed_by_the_same_models():
    payload = build_command("segment/start", "t0ken", type="quiz", label="q1", request_id="r")
    command = parse_command("segment/start", payload.encode(), "t0ken")
    assert (command.type, command.label, command.request_id) == ("quiz", "q1", "r")
    with pytest.raises(CommandError, match="^unauthorised"):
        parse_command("segment/start", payload.encode(), "another")
