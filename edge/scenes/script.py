"""Scenario scripts: what happens in a scripted classroom, validated from YAML.

A scenario names its seed, its room (frame size, rows of desks, face sizes), its camera (blur,
noise, compression, lighting) and its script (the class's resting mood, class-wide events,
heads-down episodes, individual blips, occlusions, students leaving and entering). Everything
else is drawn from the seed, so a scenario file fully determines its video and its truth.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.datasets import FER2013_LABELS

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _mood(values: dict[str, float]) -> dict[str, float]:
    unknown = set(values) - set(FER2013_LABELS)
    if unknown:
        raise ValueError(f"unknown class(es) {sorted(unknown)}; use {', '.join(FER2013_LABELS)}")
    if not values or min(values.values()) < 0 or sum(values.values()) <= 0:
        raise ValueError("a mood is a mapping of class → non-negative weight with a positive sum")
    return values


class Room(_Strict):
    width: int = Field(1280, ge=320)
    height: int = Field(720, ge=240)
    fps: float = Field(8.0, gt=0, le=30, description="frames rendered per second of video")
    rows: int = Field(3, ge=1, le=6)
    near_face_px: float = Field(72.0, gt=8, description="face side in the front row at this frame size")
    far_face_px: float = Field(28.0, gt=8, description="face side in the back row")


class Camera(_Strict):
    blur_sigma: float = Field(0.6, ge=0, le=3, description="optics blur of the whole frame, pixels")
    noise_sigma: float = Field(2.5, ge=0, le=20, description="sensor noise, grey levels")
    video_quality: int = Field(70, ge=10, le=100, description="JPEG quality of each frame (compression)")
    lighting_drift: float = Field(0.15, ge=0, le=0.6, description="± slow change of exposure")
    backlight: float = Field(0.0, ge=0, le=1, description="strength of a bright window behind the class "
                                                          "(the camera then exposes faces darker)")


class Event(_Strict):
    """A class-wide expression event (a joke, a hard exercise): most students change together."""

    start: float = Field(ge=0)
    end: float
    mood: dict[str, float]
    share: float = Field(0.8, gt=0, le=1, description="share of students who take part")
    onset_spread: float = Field(1.5, ge=0, description="students react within this many seconds")
    label: str = ""

    _check_mood = field_validator("mood")(classmethod(lambda cls, v: _mood(v)))

    @model_validator(mode="after")
    def _ordered(self):
        if self.end <= self.start:
            raise ValueError(f"event {self.label or self.start}: end must be after start")
        return self


class Episodes(_Strict):
    """Random episodes per student (heads down, a hand or a book in front of the face, blips)."""

    share: float = Field(0.0, ge=0, le=0.8, description="target share of each student's time")
    mean_seconds: float = Field(3.0, gt=0)


class Absence(_Strict):
    student: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float | None = None  # None: never comes back


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    description: str = ""
    seed: int
    seconds: float = Field(gt=0, le=600)
    students: int = Field(ge=1, le=40)
    room: Room = Room()
    camera: Camera = Camera()
    mood: dict[str, float] = Field(description="the class's resting mix of expressions")
    mood_change_seconds: float = Field(20.0, gt=0, description="a student's resting expression lasts "
                                                               "about this long before it changes")
    events: list[Event] = Field(default_factory=list)
    heads_down: Episodes = Episodes()
    turned_away: Episodes = Episodes(share=0.05, mean_seconds=2.0)
    occlusions: Episodes = Episodes(share=0.04, mean_seconds=2.0)
    blips: Episodes = Episodes(share=0.04, mean_seconds=2.5)
    absences: list[Absence] = Field(default_factory=list)
    late: list[Absence] = Field(default_factory=list, description="students who enter at `start`")

    _check_mood = field_validator("mood")(classmethod(lambda cls, v: _mood(v)))

    @model_validator(mode="after")
    def _consistent(self):
        for item in [*self.absences, *self.late]:
            if item.student >= self.students:
                raise ValueError(f"student {item.student} does not exist (students: {self.students})")
        return self


class ScenarioError(ValueError):
    """A scenario that does not exist or does not validate; the message says which and why."""


def scenario_names() -> list[str]:
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ScenarioError(f"scenario {name_or_path!r} not found; known: {', '.join(scenario_names())} "
                            f"(or give the path of a scenario YAML)")
    text = path.read_text()
    try:
        return Scenario.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as error:
        raise ScenarioError(f"{path}: {error}") from error


def load_scenarios(selection: str) -> list[Scenario]:
    """'all', one name, or comma-separated names / paths."""
    names = scenario_names() if selection == "all" else [s.strip() for s in selection.split(",") if s.strip()]
    return [load_scenario(name) for name in names]
