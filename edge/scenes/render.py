"""Pixels for a scripted classroom: students made of FER2013 PrivateTest faces, seen by a camera.

Each student is a body behind a desk and a head whose face is a PrivateTest image of the
scripted expression, warped for the head pose (yaw narrows it, looking down compresses it and
lets the crown of the head cover it, roll turns it), sometimes covered by a hand or a book. The
camera adds lighting drift, a backlit window, optics blur and sensor noise; the video writer adds
compression (MJPEG at the scenario's quality). Only PrivateTest is used: PublicTest stays
free for calibration and for measuring the model's confusion. And only faces whose FER2013 label
FER+'s ten annotators agree with: 38 % of PrivateTest's labels are not what most people see in
the face (six in seven of its "fear" faces), and a truth that is wrong that often would measure the
labels' noise, not the product (it flattens the slope of product against truth).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from edge.scenes.script import Scenario
from edge.scenes.timeline import StudentPlan, StudentState, plan_students, state_at


class FaceBank:
    """PrivateTest faces by class; an image key picks one deterministically.

    `usable` leaves out images whose label FER+ disagrees with (see edge.datasets.agreed_labels) and
    images the detector cannot find even large and clean (a tenth of FER2013: faces cut off by the
    crop, drawings, hands over the face), so that the scenes measure the room's conditions rather
    than those images.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, usable: np.ndarray | None = None):
        self.images = images
        usable = np.ones(len(labels), bool) if usable is None else usable
        self.usable_digest = hashlib.sha256(np.packbits(usable).tobytes()).hexdigest()[:16]
        self.by_class = [np.flatnonzero((labels == k) & usable) for k in range(int(labels.max()) + 1)]

    @classmethod
    def from_shared(cls, shared, cache_dir: Path | None = None) -> "FaceBank":
        """The PrivateTest bank of agreed labels; with a cache folder, only the faces the detector
        finds when clean."""
        from edge.datasets import agreed_labels, fer2013_path, load_fer2013, sha256_of

        test = load_fer2013(shared)["test"]
        images, labels = test.images, test.labels
        agreed = agreed_labels(labels, test.ferplus)
        if cache_dir is None:
            return cls(images, labels, agreed)
        from edge.scenes.cache import GENERATOR_VERSION  # the probe renders with this generator

        cached = Path(cache_dir) / f"detectable-v{GENERATOR_VERSION}-{sha256_of(fer2013_path(shared))[:16]}.npy"
        if cached.is_file():
            usable = np.load(cached)
        else:
            usable = detectable_faces(images)
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, usable)
        return cls(images, labels, usable & agreed)

    def face(self, label: int, key: int) -> np.ndarray:
        pool = self.by_class[label]
        return self.images[pool[key % len(pool)]]


def _mediapipe():
    """mediapipe imports TensorFlow opportunistically when it is installed (the [train] extra);
    hide it for the duration of the import."""
    import sys

    if "tensorflow" in sys.modules:
        import mediapipe
        return mediapipe
    sys.modules["tensorflow"] = None  # makes `import tensorflow` raise ImportError, which mediapipe handles
    try:
        import mediapipe
        return mediapipe
    finally:
        del sys.modules["tensorflow"]


def detectable_faces(images: np.ndarray, face_px: float = 64.0) -> np.ndarray:
    """For each 48×48 face: does a standard detector find it as one front-row student, clean?

    The probe is MediaPipe's own full-range solution on the whole image, fixed on purpose: the
    scenes must not change when the product's detector does, or evaluations of two detector
    versions would be run on different classrooms.
    """
    from edge.scenes.script import Camera, Episodes, Room

    probe = Scenario(name="probe", seed=0, seconds=1.0, students=1, mood={"neutral": 1.0},
                     room=Room(width=360, height=360, rows=1, near_face_px=face_px, far_face_px=face_px),
                     camera=Camera(blur_sigma=0.0, noise_sigma=0.0, lighting_drift=0.0),
                     turned_away=Episodes(), occlusions=Episodes(), blips=Episodes())
    renderer = SceneRenderer(probe, FaceBank(images[:1], np.array([6])))
    detector = _mediapipe().solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)
    found = np.zeros(len(images), bool)
    for index, face in enumerate(images):
        renderer.bank = FaceBank(face[None], np.array([6]))  # the probe student is scripted neutral
        rgb = cv2.cvtColor(renderer.render(0).image, cv2.COLOR_BGR2RGB)
        found[index] = bool(detector.process(rgb).detections)
    detector.close()
    return found


@dataclass(frozen=True)
class RenderedFrame:
    image: np.ndarray  # BGR uint8
    faces: list[StudentState]  # students in the room at this instant, in frame or not


def _ellipse_mask(h: int, w: int, cx: float, cy: float, ax: float, ay: float, soft: float) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - cx) / max(ax, 1e-3)) ** 2 + ((yy - cy) / max(ay, 1e-3)) ** 2)
    return np.clip((1.0 - r) / soft + 0.5, 0.0, 1.0)


# Face surface depth in units of half the face width: an ellipsoid with a nose. The nose tip stands
# about 0.4 eye distances in front of the eyes, as in adult faces; that is what moves the nose
# against the eyes and ears when the head turns, the cue a pose estimate reads.
HEAD_RADIUS = 0.7  # from the rotation centre (the neck) to the face surface


def _face_depth(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    bulge = 0.35 * np.sqrt(np.clip(1.0 - u ** 2 - (0.9 * v) ** 2, 0.0, None))
    nose = 0.25 * np.exp(-(u / 0.16) ** 2 - ((v - 0.12) / 0.3) ** 2)
    return bulge + nose


@lru_cache(maxsize=512)
def _face_surface(size_px: int, yaw_deg: float, pitch_deg: float) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """Where the turned face is seen, relative to the head centre: (x0, y0) of a region and, for each
    of its pixels, the face-texture coordinates (u, v ∈ [−1, 1]) seen there and the face's alpha.

    Inverts the projection of the rotated surface by damped fixed-point iteration (a few steps
    suffice for the poses a classroom shows). Cached: poses are quantised by the caller.
    """
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    half = size_px / 2.0
    reach = 1.0 + HEAD_RADIUS + 0.7  # furthest the face can appear from the head centre, in half-sizes
    x0 = y0 = int(math.floor(-reach * half))
    grid = (np.arange(x0, -x0 + 1, dtype=np.float32) + 0.5) / half
    x, y = np.meshgrid(grid, grid)
    u, v = x / max(math.cos(yaw), 0.3), y / max(math.cos(pitch), 0.3)
    for _ in range(4):
        depth = _face_depth(np.clip(u, -1, 1), np.clip(v, -1, 1)) + HEAD_RADIUS
        u = 0.5 * u + 0.5 * (x - depth * math.sin(yaw)) / math.cos(yaw)
        v = 0.5 * v + 0.5 * (y + depth * math.sin(pitch)) / math.cos(pitch)
    inside = (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)
    radius = np.sqrt(u ** 2 + v ** 2) / 1.05
    alpha = (np.clip((1.0 - radius) / 0.3 + 0.5, 0.0, 1.0) * inside).astype(np.float32)
    return x0, y0, u.astype(np.float32), v.astype(np.float32), alpha


class SceneRenderer:
    def __init__(self, scenario: Scenario, bank: FaceBank):
        self.scenario = scenario
        self.bank = bank
        self.plans: list[StudentPlan] = plan_students(scenario)
        self.room = scenario.room
        self._background = self._classroom()
        self._noise = self._noise_bank()

    @property
    def frame_count(self) -> int:
        return int(math.floor(self.scenario.seconds * self.room.fps))

    def time_of(self, index: int) -> float:
        return index / self.room.fps

    def states(self, t: float) -> list[StudentState]:
        return [s for s in (state_at(p, t, self.room.width) for p in self.plans) if s is not None]

    # -- the room --------------------------------------------------------------------------------
    def _classroom(self) -> np.ndarray:
        rng = np.random.default_rng(self.scenario.seed + 1)
        h, w = self.room.height, self.room.width
        wall = np.linspace(190, 150, h, dtype=np.float32)[:, None, None] * np.array([0.9, 1.0, 1.08])
        image = np.broadcast_to(wall, (h, w, 3)).copy()
        image[: int(h * 0.08)] = (225, 228, 228)
        for _ in range(4):  # posters and a clock on the back wall
            x0, y0 = int(rng.uniform(0, w * 0.9)), int(rng.uniform(h * 0.1, h * 0.25))
            colour = tuple(float(v) for v in rng.integers(60, 230, 3))
            cv2.rectangle(image, (x0, y0), (x0 + int(w * 0.06), y0 + int(h * 0.08)), colour, -1)
        backlight = self.scenario.camera.backlight
        if backlight > 0:  # a window behind the class, much brighter than the faces
            x0, x1 = int(w * 0.55), int(w * 0.95)
            y0, y1 = int(h * 0.06), int(h * 0.42)
            image[y0:y1, x0:x1] = 200 + 55 * backlight
            cv2.rectangle(image, (x0, y0), (x1, y1), (90, 90, 90), 4)
            cv2.line(image, ((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1), (90, 90, 90), 4)
        image += rng.normal(0, 2.0, image.shape)
        return np.clip(image, 0, 255).astype(np.uint8)

    def _noise_bank(self, count: int = 12) -> list[np.ndarray]:
        """Sensor noise fields, drawn once and cycled (drawing one per frame costs more than the rest)."""
        sigma = self.scenario.camera.noise_sigma
        if sigma <= 0:
            return []
        rng = np.random.default_rng(self.scenario.seed + 2)
        shape = (self.room.height, self.room.width)
        return [cv2.merge([np.round(rng.normal(0.0, sigma, shape)).astype(np.int16)] * 3) for _ in range(count)]

    def _desk(self, frame: np.ndarray, row: int) -> None:
        rows = max(p.row for p in self.plans) + 1
        depth = row / max(rows - 1, 1)
        face = self.room.near_face_px + (self.room.far_face_px - self.room.near_face_px) * depth
        y = int(self.room.height * (0.74 - 0.40 * depth) + face * 1.15)
        cv2.rectangle(frame, (0, y), (self.room.width, y + int(face * 0.6)), (60, 95, 135), -1)
        cv2.line(frame, (0, y), (self.room.width, y), (45, 70, 100), max(1, int(face * 0.05)))

    # -- one student -----------------------------------------------------------------------------
    def _head_patch(self, plan: StudentPlan, state: StudentState) -> tuple[np.ndarray, np.ndarray]:
        """BGR float patch and alpha, 2.4 face sizes square, face centred; before roll."""
        s = state.size
        side = int(math.ceil(s * (1.0 + HEAD_RADIUS + 0.7))) + 3  # the reach of _face_surface, both sides
        c = side / 2.0
        colour = np.zeros((side, side, 3), np.float32)
        alpha = np.zeros((side, side), np.float32)
        yaw, down = math.radians(state.yaw), max(0.0, -math.radians(state.pitch))
        # the hair / back of the head: a dark ellipse slightly above and behind the face
        hair_c = (c - 0.12 * s * math.sin(yaw), c - 0.16 * s + 0.1 * s * math.sin(down))
        hair_mask = _ellipse_mask(side, side, hair_c[0], hair_c[1], 0.62 * s, 0.72 * s, 0.08)
        colour += hair_mask[..., None] * np.array(plan.hair, np.float32)
        alpha = np.maximum(alpha, hair_mask)
        # the face: its texture on a curved surface with a nose, turned and bent by the head pose
        face = self.bank.face(state.label, state.image_key)
        texture_px = max(2, int(round(s)))
        face = cv2.resize(face, (texture_px, texture_px), interpolation=cv2.INTER_AREA if s < 48 else cv2.INTER_LINEAR)
        face_bgr = face.astype(np.float32)[..., None] * np.array(plan.skin, np.float32)
        if state.occlusion > 0:  # a hand or a book over the lower face
            top = int(texture_px * (1.0 - state.occlusion))
            face_bgr[top:] = (np.array(plan.skin, np.float32) * 150.0 if state.occluder == "hand"
                              else np.array((40.0, 90.0, 170.0), np.float32))
        x0, y0, u, v, face_alpha = _face_surface(texture_px, round(state.yaw / 3.0) * 3.0,
                                                 round(state.pitch / 3.0) * 3.0)
        map_x = (u + 1.0) * 0.5 * (texture_px - 1)
        map_y = (v + 1.0) * 0.5 * (texture_px - 1)
        warped = cv2.remap(face_bgr, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if state.occlusion > 0:
            face_alpha = np.where((face_alpha > 0) & (v > 1.0 - 2.0 * state.occlusion), 1.0, face_alpha)
        if down > 0:  # the crown of the head comes over the face as it bends down
            covered = min(0.7, 0.9 * math.sin(down) ** 1.5)
            face_alpha = face_alpha * np.clip((v + 1.0 - 2.0 * covered) / 0.16, 0.0, 1.0)
        region = (slice(int(c) + y0, int(c) + y0 + u.shape[0]), slice(int(c) + x0, int(c) + x0 + u.shape[1]))
        a = face_alpha[..., None]
        colour[region] = colour[region] * (1 - a) + warped * a
        alpha[region] = np.maximum(alpha[region], face_alpha)
        return colour, alpha

    def _paste_student(self, frame: np.ndarray, plan: StudentPlan, state: StudentState, exposure: float) -> None:
        s = state.size
        body_c = (int(state.cx), int(state.cy + 1.25 * s))
        cv2.ellipse(frame, body_c, (int(1.05 * s), int(0.75 * s)), 0, 180, 360,
                    tuple(float(v) * exposure for v in plan.shirt), -1)
        cv2.rectangle(frame, (body_c[0] - int(1.05 * s), body_c[1]), (body_c[0] + int(1.05 * s), body_c[1] + int(s)),
                      tuple(float(v) * exposure for v in plan.shirt), -1)
        colour, alpha = self._head_patch(plan, state)
        side = colour.shape[0]
        matrix = cv2.getRotationMatrix2D((side / 2.0, side / 2.0), -state.roll, 1.0)
        colour = cv2.warpAffine(colour, matrix, (side, side), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(alpha, matrix, (side, side), flags=cv2.INTER_LINEAR)[..., None]
        x0, y0 = int(round(state.cx - side / 2.0)), int(round(state.cy - side / 2.0))
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + side, frame.shape[1]), min(y0 + side, frame.shape[0])
        if fx1 <= fx0 or fy1 <= fy0:
            return
        sub = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
        blended = region * (1 - alpha[sub]) + colour[sub] * exposure * alpha[sub]
        frame[fy0:fy1, fx0:fx1] = np.clip(blended, 0, 255).astype(np.uint8)

    # -- the camera ------------------------------------------------------------------------------
    def _exposure(self, t: float) -> float:
        camera = self.scenario.camera
        drift = camera.lighting_drift * math.sin(2 * math.pi * t / 37.0 + self.scenario.seed)
        return (1.0 + drift) * (1.0 - 0.45 * camera.backlight)

    def render(self, index: int) -> RenderedFrame:
        t = self.time_of(index)
        states = self.states(t)
        exposure = self._exposure(t)
        frame = self._background.copy()
        by_ident = {s.ident: s for s in states}
        rows = sorted({p.row for p in self.plans}, reverse=True)  # back rows first
        for row in rows:
            for plan in self.plans:
                if plan.row == row and plan.ident in by_ident:
                    self._paste_student(frame, plan, by_ident[plan.ident], exposure)
            self._desk(frame, row)
        camera = self.scenario.camera
        if camera.blur_sigma > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), camera.blur_sigma)
        if camera.noise_sigma > 0:
            frame = cv2.add(frame, self._noise[(index * 7) % len(self._noise)], dtype=cv2.CV_8U)
        return RenderedFrame(frame, states)  # compression happens in the video writer (edge.scenes.cache)
