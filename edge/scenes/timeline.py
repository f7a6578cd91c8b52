"""A scenario's script turned into per-student timelines: a pure function of the scenario.

The timeline knows everything about every student at every instant (where the face is, how the
head is turned, which expression it shows, what covers it) without touching a pixel, so truth
and statistics (face-time per size band, share of heads down) need neither rendering nor data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.datasets import FER2013_LABELS
from edge.scenes.script import Episodes, Scenario

# Head-pose limits of the truth. A face is readable when a person could read its expression:
# roughly frontal, not looking down at the desk, not covered. Attention ("heads up") is looser:
# a student turned a little toward a neighbour still faces the front of the room.
READABLE_MAX_YAW = 30.0
READABLE_MIN_PITCH = -20.0
READABLE_MAX_OCCLUSION = 0.3
ATTENTION_MAX_YAW = 40.0
VISIBLE_MAX_YAW = 45.0
VISIBLE_MIN_PITCH = -30.0
ATTENTION_MIN_PITCH = -20.0
HEADS_DOWN_PITCH = -50.0
TURNED_AWAY_YAW = 60.0
RAMP_SECONDS = 0.6  # a head takes this long to go down or come up


@dataclass(frozen=True)
class Interval:
    start: float
    end: float

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class ExpressionSpan:
    start: float
    end: float
    label: int  # FER2013 class index
    image_key: int  # picks the face image of that class (see FaceBank)


@dataclass(frozen=True)
class StudentPlan:
    ident: int
    row: int  # 0 = front
    seat: tuple[float, float]  # face centre, pixels
    face_px: float
    skin: tuple[float, float, float]  # BGR gain applied to the grey face
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    phase: float
    present: tuple[Interval, ...]
    expressions: tuple[ExpressionSpan, ...]
    heads_down: tuple[Interval, ...]
    turned_away: tuple[tuple[Interval, float], ...]  # (interval, sign of the turn)
    occlusions: tuple[tuple[Interval, float, str], ...]  # (interval, covered fraction, "hand" | "book")
    walks_in: bool


@dataclass(frozen=True)
class StudentState:
    """One student at one instant."""

    ident: int
    cx: float
    cy: float
    size: float  # side of the face box, pixels
    yaw: float  # degrees, + = turned to the image right
    pitch: float  # degrees, − = looking down
    roll: float
    occlusion: float  # covered fraction of the face (0–1)
    occluder: str
    label: int
    image_key: int
    expression_since: float  # when the current scripted expression began

    @property
    def readable(self) -> bool:
        return (abs(self.yaw) <= READABLE_MAX_YAW and self.pitch >= READABLE_MIN_PITCH
                and self.occlusion < READABLE_MAX_OCCLUSION)

    @property
    def visible(self) -> bool:
        """A detector can be expected to find the face: not bent over the desk, not turned away, not covered."""
        return abs(self.yaw) <= VISIBLE_MAX_YAW and self.pitch >= VISIBLE_MIN_PITCH and self.occlusion < 0.3

    @property
    def heads_up(self) -> bool:
        return abs(self.yaw) <= ATTENTION_MAX_YAW and self.pitch >= ATTENTION_MIN_PITCH

    @property
    def box(self) -> tuple[float, float, float, float]:
        half = self.size / 2.0
        return self.cx - half, self.cy - half, self.cx + half, self.cy + half

    def in_frame(self, width: float, height: float) -> bool:
        x0, y0, x1, y1 = self.box
        return x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height


def _draw_class(rng: np.random.Generator, mood: dict[str, float]) -> int:
    names = list(mood)
    weights = np.array([mood[n] for n in names], np.float64)
    return FER2013_LABELS.index(names[int(rng.choice(len(names), p=weights / weights.sum()))])


def _episodes(rng: np.random.Generator, spec: Episodes, seconds: float) -> list[Interval]:
    """A renewal process whose busy share is spec.share on average."""
    if spec.share <= 0:
        return []
    mean_gap = spec.mean_seconds * (1.0 - spec.share) / spec.share
    t = float(rng.uniform(0, mean_gap))
    found = []
    while t < seconds:
        length = max(1.0, float(rng.gamma(4.0, spec.mean_seconds / 4.0)))
        found.append(Interval(t, min(t + length, seconds)))
        t += length + max(1.0, float(rng.exponential(mean_gap)))
    return found


def _overlay(spans: list[ExpressionSpan], new: ExpressionSpan) -> list[ExpressionSpan]:
    """Insert new over spans, cutting whatever it covers."""
    out = []
    for span in spans:
        if span.end <= new.start or span.start >= new.end:
            out.append(span)
            continue
        if span.start < new.start:
            out.append(ExpressionSpan(span.start, new.start, span.label, span.image_key))
        if span.end > new.end:
            out.append(ExpressionSpan(new.end, span.end, span.label, span.image_key))
    out.append(new)
    return sorted(out, key=lambda s: s.start)


def _expressions(rng: np.random.Generator, scenario: Scenario) -> list[ExpressionSpan]:
    key = lambda: int(rng.integers(0, 2**31))  # noqa: E731
    spans, t = [], 0.0
    while t < scenario.seconds:
        length = max(6.0, float(rng.exponential(scenario.mood_change_seconds)))
        spans.append(ExpressionSpan(t, min(t + length, scenario.seconds), _draw_class(rng, scenario.mood), key()))
        t += length
    for event in scenario.events:
        if rng.random() < event.share:
            start = event.start + float(rng.uniform(0, event.onset_spread))
            end = min(event.end + float(rng.uniform(0, event.onset_spread)), scenario.seconds)
            if end > start:
                spans = _overlay(spans, ExpressionSpan(start, end, _draw_class(rng, event.mood), key()))
    for blip in _episodes(rng, scenario.blips, scenario.seconds):
        spans = _overlay(spans, ExpressionSpan(blip.start, blip.end, int(rng.integers(0, len(FER2013_LABELS))),
                                               key()))
    return spans


def plan_students(scenario: Scenario) -> list[StudentPlan]:
    rng = np.random.default_rng(scenario.seed)
    room = scenario.room
    rows = min(room.rows, scenario.students)
    per_row = math.ceil(scenario.students / rows)
    absent = {a.student: a for a in scenario.absences}
    late = {a.student: a for a in scenario.late}
    plans = []
    for ident in range(scenario.students):
        row, col = divmod(ident, per_row)
        depth = row / max(rows - 1, 1)
        in_row = min(per_row, scenario.students - row * per_row)
        x = (col + 0.5 + float(rng.uniform(-0.12, 0.12))) / in_row
        face = (room.near_face_px + (room.far_face_px - room.near_face_px) * depth) * float(rng.uniform(0.9, 1.1))
        y = room.height * (0.74 - 0.40 * depth) + float(rng.uniform(-0.02, 0.02)) * room.height
        present = [Interval(0.0, scenario.seconds)]
        if ident in late:
            present = [Interval(late[ident].start, scenario.seconds)]
        if ident in absent:
            a = absent[ident]
            kept = []
            for span in present:
                if a.start > span.start:
                    kept.append(Interval(span.start, min(a.start, span.end)))
                if a.end is not None and a.end < span.end:
                    kept.append(Interval(max(a.end, span.start), span.end))
            present = kept
        tone = float(rng.uniform(0.75, 1.1))
        skin = (tone * float(rng.uniform(0.78, 0.9)), tone * float(rng.uniform(0.88, 0.97)), tone)
        hair_level = int(rng.integers(15, 110))
        plans.append(StudentPlan(
            ident=ident, row=row, seat=(x * room.width, y), face_px=face, skin=skin,
            hair=(hair_level, int(hair_level * 1.1), int(hair_level * 1.25)),
            shirt=tuple(int(v) for v in rng.integers(40, 220, 3)), phase=float(rng.uniform(0, 2 * math.pi)),
            present=tuple(present), expressions=tuple(_expressions(rng, scenario)),
            heads_down=tuple(_episodes(rng, scenario.heads_down, scenario.seconds)),
            turned_away=tuple((i, float(rng.choice([-1.0, 1.0])))
                              for i in _episodes(rng, scenario.turned_away, scenario.seconds)),
            occlusions=tuple((i, float(rng.uniform(0.35, 0.6)), str(rng.choice(["hand", "book"])))
                             for i in _episodes(rng, scenario.occlusions, scenario.seconds)),
            walks_in=ident in late))
    return plans


def _ramp(t: float, intervals, ramp: float = RAMP_SECONDS) -> float:
    """0 outside the intervals, 1 inside, with linear ramps of `ramp` seconds at both ends."""
    for interval in intervals:
        if interval.start <= t < interval.end:
            return min(1.0, (t - interval.start) / ramp, (interval.end - t) / ramp)
    return 0.0


def state_at(plan: StudentPlan, t: float, room_width: float) -> StudentState | None:
    """Where the student's face is and what it shows at time t; None when not in the room."""
    entered = next((i.start for i in plan.present if i.contains(t)), None)
    if entered is None:
        return None
    size = plan.face_px
    p = plan.phase
    cx = plan.seat[0] + 0.07 * size * math.sin(0.53 * t + p) + 0.03 * size * math.sin(1.7 * t + 2 * p)
    cy = plan.seat[1] + 0.04 * size * math.sin(0.71 * t + 3 * p)
    if plan.walks_in and entered > 0 and t - entered < 3.0:
        progress = (t - entered) / 3.0
        cx = (1 - progress) * room_width * 0.98 + progress * cx
    yaw = 12.0 * math.sin(0.31 * t + p) + 4.0 * math.sin(1.3 * t + 2 * p)
    pitch = 5.0 * math.sin(0.43 * t + 4 * p)
    roll = 7.0 * math.sin(0.37 * t + 5 * p)
    down = _ramp(t, plan.heads_down)
    pitch += (HEADS_DOWN_PITCH - pitch) * down
    cy += 0.18 * size * down  # the head bends forward and down
    for interval, sign in plan.turned_away:
        turn = _ramp(t, [interval])
        if turn > 0:
            yaw += (sign * TURNED_AWAY_YAW - yaw) * turn
    occlusion, occluder = 0.0, ""
    for interval, covered, kind in plan.occlusions:
        if interval.contains(t):
            occlusion, occluder = covered, kind
    span = next((s for s in plan.expressions if s.start <= t < s.end), plan.expressions[-1])
    return StudentState(plan.ident, cx, cy, size, yaw, pitch, roll, occlusion, occluder, span.label, span.image_key,
                        span.start)
