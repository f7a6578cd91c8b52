"""A synthetic classroom, generated on the fly from public-domain material.

Every student is the face of scikit-image's astronaut photograph (NASA, public domain), varied in
size, brightness, mirroring and pose. Students sway and turn slightly, a hand passes in front of
faces, one student leaves and comes back, one walks in late. Rendering is a pure function of
time, so any frame rate sees the same scene, and the ground truth is known exactly (for tests of
detection recall and tracking).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

# Head-and-shoulders region of the astronaut photograph and the face box inside it (pixels).
_SPRITE_REGION = (140, 10, 310, 250)  # x0, y0, x1, y1
_FACE_IN_REGION = (34.0, 58.0, 138.0, 162.0)  # detector's face box relative to the region


@lru_cache(maxsize=1)
def _sprite() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data  # ships the image inside the wheel: nothing is downloaded

    image = data.astronaut()[:, :, ::-1]  # RGB → BGR
    x0, y0, x1, y1 = _SPRITE_REGION
    sprite = np.ascontiguousarray(image[y0:y1, x0:x1])
    h, w = sprite.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, int(h * 0.45)), (int(w * 0.46), int(h * 0.5)), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 4)
    return sprite, alpha


@dataclass(frozen=True)
class Student:
    ident: int
    seat: tuple[float, float]  # face centre, fraction of frame
    face_px: float  # face box side at 1280 px frame width
    brightness: float
    mirrored: bool
    phase: float
    present: tuple[tuple[float, float], ...] = ((0.0, math.inf),)  # (enter, leave) intervals, seconds
    walk_in: bool = False  # walks from the door to the seat when entering


@dataclass(frozen=True)
class TruthFace:
    ident: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 pixels
    occluded: bool


def _students(count: int, seed: int) -> list[Student]:
    rng = np.random.default_rng(seed)
    rows = max(1, int(round(math.sqrt(count / 2.5))))
    per_row = math.ceil(count / rows)
    students = []
    for index in range(count):
        row, col = divmod(index, per_row)
        depth = row / max(rows - 1, 1)  # 0 = front row (near, large), 1 = back row
        x = (col + 0.5 + (0.25 if row % 2 else 0.0)) / (per_row + 0.5)
        y = 0.70 - 0.38 * depth
        present: tuple[tuple[float, float], ...] = ((0.0, math.inf),)
        if index == 1:
            present = ((0.0, 20.0), (32.0, math.inf))  # leaves for a while, comes back
        if index == count - 1 and count > 2:
            present = ((8.0, math.inf),)  # comes in late
        students.append(Student(
            ident=index, seat=(x, y), face_px=float(88 - 40 * depth + rng.uniform(-6, 6)),
            brightness=float(rng.uniform(0.75, 1.15)), mirrored=bool(rng.random() < 0.5),
            phase=float(rng.uniform(0, 2 * math.pi)), present=present, walk_in=index == count - 1))
    return students


class DemoScene:
    """Deterministic classroom: render(t) → (BGR frame, ground truth)."""

    def __init__(self, width: int = 1280, height: int = 720, faces: int = 16, seconds: float = 60.0,
                 fps: float = 15.0, seed: int = 7):
        self.width, self.height, self.seconds, self.fps = width, height, seconds, fps
        self.students = _students(faces, seed)
        self._background = self._classroom(seed)
        self._patches: dict = {}

    def _classroom(self, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        h, w = self.height, self.width
        wall = np.linspace(205, 170, h, dtype=np.float32)[:, None, None] * np.array([0.92, 1.0, 1.05])
        image = np.broadcast_to(wall, (h, w, 3)).copy()
        image[: int(h * 0.12)] = (235, 235, 230)  # ceiling
        cv2.rectangle(image, (int(w * 0.3), int(h * 0.14)), (int(w * 0.7), int(h * 0.32)), (60, 80, 60), -1)
        for row in range(3):  # desks
            y = int(h * (0.82 - 0.19 * row))
            cv2.rectangle(image, (int(w * 0.03), y), (int(w * 0.97), y + int(h * 0.05)), (70, 110, 150), -1)
        image += rng.normal(0, 3, image.shape)
        return np.clip(image, 0, 255).astype(np.uint8)

    def _pose(self, student: Student, t: float) -> tuple[float, float, float, float] | None:
        """Face centre (px), face size (px), roll (degrees); None when absent."""
        interval = next(((a, b) for a, b in student.present if a <= t < b), None)
        if interval is None:
            return None
        scale = self.width / 1280.0
        cx = student.seat[0] * self.width + 6 * scale * math.sin(0.7 * t + student.phase)
        cy = student.seat[1] * self.height + 3 * scale * math.sin(1.1 * t + 2 * student.phase)
        since = t - interval[0]
        if student.walk_in and interval[0] > 0 and since < 4.0:  # from the door on the right
            progress = since / 4.0
            cx = (1 - progress) * (self.width * 0.97) + progress * cx
        roll = 8.0 * math.sin(0.4 * t + student.phase)
        return cx, cy, student.face_px * scale, roll

    def _occluded(self, student: Student, t: float) -> bool:
        # A hand in front of one face at a time, 1.5 s in every 10 s, cycling through students.
        slot = int(t // 10.0)
        return slot % len(self.students) == student.ident and (t % 10.0) < 1.5

    def _patch(self, student: Student, face: float, roll_bucket: int) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The student's sprite scaled and rolled, with its alpha and the face centre in the patch.

        Cached per (student, size, 2° roll step): rendering a frame is then only alpha blending.
        """
        key = (student.ident, round(face, 1), roll_bucket)
        cached = self._patches.get(key)
        if cached is not None:
            return cached
        sprite, alpha = _sprite()
        if student.mirrored:
            sprite, alpha = sprite[:, ::-1], alpha[:, ::-1]
        zoom = face / (_FACE_IN_REGION[2] - _FACE_IN_REGION[0])
        fx = (_FACE_IN_REGION[0] + _FACE_IN_REGION[2]) / 2.0
        fy = (_FACE_IN_REGION[1] + _FACE_IN_REGION[3]) / 2.0
        if student.mirrored:
            fx = sprite.shape[1] - fx
        side = int(math.ceil(max(sprite.shape) * zoom * 1.1)) + 2
        matrix = cv2.getRotationMatrix2D((fx, fy), float(roll_bucket * 2), zoom)
        matrix[:, 2] += (side / 2.0 - fx, side / 2.0 - fy)
        patch = cv2.warpAffine(np.ascontiguousarray(sprite), matrix, (side, side), flags=cv2.INTER_AREA)
        weight = cv2.warpAffine(np.ascontiguousarray(alpha), matrix, (side, side))[..., None]
        patch = np.clip(patch.astype(np.float32) * student.brightness, 0, 255) * weight
        cached = (patch, 1.0 - weight, side / 2.0, side / 2.0)
        self._patches[key] = cached
        return cached

    def _paste(self, frame: np.ndarray, student: Student, cx: float, cy: float, face: float, roll: float) -> None:
        patch, keep, px, py = self._patch(student, face, int(round(roll / 2.0)))
        x0, y0 = int(round(cx - px)), int(round(cy - py))
        h, w = patch.shape[:2]
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + w, frame.shape[1]), min(y0 + h, frame.shape[0])
        if fx1 <= fx0 or fy1 <= fy0:
            return
        sub = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        region = frame[fy0:fy1, fx0:fx1]
        frame[fy0:fy1, fx0:fx1] = (region * keep[sub] + patch[sub]).astype(np.uint8)

    def render(self, t: float) -> tuple[np.ndarray, list[TruthFace]]:
        frame = self._background.copy()
        truth = []
        for student in sorted(self.students, key=lambda s: s.face_px):  # back rows first
            pose = self._pose(student, t)
            if pose is None:
                continue
            cx, cy, face, roll = pose
            self._paste(frame, student, cx, cy, face, roll)
            occluded = self._occluded(student, t)
            if occluded:
                hand = (int(cx - face * 0.45), int(cy - face * 0.1), int(cx + face * 0.45), int(cy + face * 0.6))
                cv2.rectangle(frame, hand[:2], hand[2:], (120, 150, 200), -1)
            half = face / 2.0
            box = (cx - half, cy - half, cx + half, cy + half)
            if box[0] >= 0 and box[2] <= self.width and box[1] >= 0 and box[3] <= self.height:
                truth.append(TruthFace(student.ident, box, occluded))
        return frame, truth
