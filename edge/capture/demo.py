"""A synthetic classroom that plays a scripted lesson, generated on the fly from public-domain material.

Every student is the face of scikit-image's astronaut photograph (NASA, public domain), varied in
size, brightness, mirroring and pose. The photograph smiles; the other expressions are edits of
it made here at start-up from hand-placed landmarks: the smile is painted out of the mouth and
cheeks, then closed lips (neutral), a deep frown with raised inner brows and drooping lids (sad),
or lips pressed into a frown under brows drawn down and together, with a glare (angry), are
drawn and warped in.
Looking down at the desk bends the head forward (the face foreshortens, the crown of the hair
comes over the forehead, the eyes close to slits).

The lesson (LESSON, 240 s, repeated for longer scenes) moves the class mood: calm (neutral, a
few passing smiles) → amused (most students smile) → unhappy (frowns: sad and angry) → calm,
each student changing a few seconds apart; every student looks down at the desk for a few
seconds now and then. Students also sway and turn slightly, a hand passes in front of faces, one
student leaves and comes back, one walks in late. Rendering is a pure function of time, so any
frame rate sees the same scene, and the ground truth is known exactly: each face's box,
occlusion, scripted expression and whether the head is down (for tests of detection, tracking
and of the index).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache

import cv2
import numpy as np

# Head-and-shoulders region of the astronaut photograph and the face box inside it (pixels).
_SPRITE_REGION = (140, 10, 310, 250)  # x0, y0, x1, y1
_FACE_IN_REGION = (34.0, 58.0, 138.0, 162.0)  # detector's face box relative to the region

EXPRESSIONS = ("neutral", "happy", "sad", "angry")  # FER2013 class names the lesson scripts


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    end: float
    moods: tuple[str, ...]  # the expressions students take up, dealt out in turn


# With the default alerts (60 s baseline, 15-point drop held 30 s) the baseline forms in the
# first calm phase and a drop alert fires well inside the unhappy one.
LESSON = (Phase("calm", 0.0, 80.0, ("neutral",)), Phase("amused", 80.0, 125.0, ("happy",)),
          Phase("unhappy", 125.0, 195.0, ("sad", "angry")), Phase("calm again", 195.0, 240.0, ("neutral",)))
LESSON_SECONDS = LESSON[-1].end
_ONSET_SPREAD = 6.0  # students take up a new phase's mood within this many seconds
_FADE_SECONDS = 0.5  # expressions and head movements blend over this time
_PATCH_CACHE = 160  # scaled and rolled sprites kept (about 60 MB); a miss costs one small warp

# Edits are drawn at this multiple of the photograph's resolution and then scaled back down,
# so that thin strokes (lip line, brows) come out anti-aliased.
_EDIT_SCALE = 4
_SHIFT = 4  # fixed-point bits of OpenCV's drawing coordinates

# Landmarks of the photograph in region pixels, placed by hand; "left" is the image's left.
_LEFT_EYE, _RIGHT_EYE = (63.0, 91.5), (106.0, 92.5)
_LEFT_BROW = ((50.0, 81.0), (61.0, 78.5), (73.0, 80.5))  # outer, middle, inner end
_RIGHT_BROW = ((96.0, 81.5), (108.0, 79.0), (120.0, 81.0))  # inner, middle, outer end
_MOUTH_X = 84.0  # the mouth's centre line
_CHIN_Y = 166.0
# Points a warp must leave where they are: eye corners, nose, cheekbones, jaw, image corners.
_FACE_ANCHORS = ((52, 91), (74, 91), (96, 92), (116, 92), (85, 100), (85, 112), (78, 121), (92, 121),
                 (40, 100), (130, 100), (42, 125), (128, 125), (55, 155), (115, 155), (85, 166),
                 (0, 0), (169, 0), (0, 239), (169, 239), (85, 60), (30, 60), (140, 60), (85, 200))

_LIP = (100.0, 100.0, 170.0)
_LIP_LINE = (40.0, 40.0, 75.0)


# -- the photograph and its expressions --------------------------------------------------------

def _photo() -> np.ndarray:
    from skimage import data  # ships the image inside the wheel: nothing is downloaded

    x0, y0, x1, y1 = _SPRITE_REGION
    return np.ascontiguousarray(data.astronaut()[y0:y1, x0:x1, ::-1])  # RGB → BGR


def _point(x: float, y: float) -> tuple[int, int]:
    """Region pixels (a position, or an ellipse's half-axes) → fixed-point edit-canvas units."""
    factor = _EDIT_SCALE * (1 << _SHIFT)
    return int(round(x * factor)), int(round(y * factor))


def _blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of sigma region pixels, computed at the photograph's resolution (a wide blur
    loses nothing there) and scaled back up to the edit canvas."""
    height, width = image.shape[:2]
    small = cv2.resize(image, (width // _EDIT_SCALE, height // _EDIT_SCALE), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma), (width, height), interpolation=cv2.INTER_LINEAR)


def _mask(shape, ellipses, holes=(), feather: float = 2.5) -> np.ndarray:
    """Soft mask (H, W, 1): union of ((centre, axes, angle), …) minus the holes, edges feathered."""
    mask = np.zeros(shape[:2], np.float32)
    for value, shapes in ((1.0, ellipses), (0.0, holes)):
        for centre, axes, angle in shapes:
            cv2.ellipse(mask, _point(*centre), _point(*axes), angle, 0, 360, value, -1, cv2.LINE_AA, _SHIFT)
    return _blurred(mask, feather)[..., None]


def _blend(image: np.ndarray, other, mask: np.ndarray) -> np.ndarray:
    return image * (1.0 - mask) + np.asarray(other, np.float32) * mask


def _smooth_inside(image: np.ndarray, ellipses, sigma: float, holes=()) -> np.ndarray:
    """Blur skin inside the ellipses: removes creases (the smile's folds) but keeps the shading."""
    return _blend(image, _blurred(image, sigma), _mask(image.shape, ellipses, holes))


def _polyline(points) -> np.ndarray:
    return np.array([_point(x, y) for x, y in points], np.int32)


def _thin_plate_map(shape, targets, sources) -> tuple[np.ndarray, np.ndarray]:
    """Backward map for cv2.remap on the edit canvas: the output at targets[i] shows sources[i].

    A thin-plate spline through the landmark pairs, evaluated every 2 region pixels (the map is
    smooth) and scaled up to the edit canvas.
    """
    targets, sources = np.asarray(targets, np.float64), np.asarray(sources, np.float64)
    count = len(targets)

    def kernel(squared):
        return np.where(squared > 0, squared * np.log(squared + 1e-12), 0.0)

    system = np.zeros((count + 3, count + 3))
    system[:count, :count] = kernel(((targets[:, None] - targets[None]) ** 2).sum(-1))
    system[:count, count] = 1.0
    system[:count, count + 1:] = targets
    system[count:, :count] = system[:count, count:].T
    values = np.zeros((count + 3, 2))
    values[:count] = sources - targets
    coefficients = np.linalg.solve(system, values)
    step = 2.0  # region pixels between evaluated points
    height, width = int(shape[0] / _EDIT_SCALE / step), int(shape[1] / _EDIT_SCALE / step)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) * step + (step - 1) / 2.0
    grid = np.stack([xs.ravel(), ys.ravel()], 1)
    offset = kernel(((grid[:, None] - targets[None]) ** 2).sum(-1)) @ coefficients[:count]
    offset += coefficients[count] + grid @ coefficients[count + 1:]
    maps = []
    for axis in (0, 1):
        source = (grid[:, axis] + offset[:, axis]).reshape(height, width).astype(np.float32)
        # region pixel centres → edit-canvas pixel centres
        maps.append(cv2.resize((source + 0.5) * _EDIT_SCALE - 0.5, (shape[1], shape[0]),
                               interpolation=cv2.INTER_LINEAR))
    return maps[0], maps[1]


def _warp(image: np.ndarray, moves, anchors=_FACE_ANCHORS) -> np.ndarray:
    """Move landmarks: each (from, to) pair carries the pixels at `from` to `to`; anchors stay."""
    targets = [to for _, to in moves] + list(anchors)
    sources = [source for source, _ in moves] + list(anchors)
    map_x, map_y = _thin_plate_map(image.shape, targets, sources)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _without_smile(image: np.ndarray) -> np.ndarray:
    """The mouth painted out (inpainted at photo resolution) and the smile's cheek folds smoothed."""
    mouth_area = [((84.0, 136.0), (26.0, 11.0), 0)]
    mouth = _mask(image.shape, mouth_area, feather=0.5)
    small = cv2.resize(image, None, fx=1 / _EDIT_SCALE, fy=1 / _EDIT_SCALE, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mouth, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    filled = cv2.inpaint(small.astype(np.uint8), (small_mask > 0.05).astype(np.uint8), 5, cv2.INPAINT_TELEA)
    filled = cv2.resize(filled, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    image = _blend(image, filled, _mask(image.shape, mouth_area, feather=2.0))
    image = _smooth_inside(image, [((85.0, 134.0), (30.0, 22.0), 0)], 5.0, holes=[((85.0, 112.0), (10.0, 12.0), 0)])
    return _smooth_inside(image, [((58.0, 122.0), (12.0, 18.0), 15), ((112.0, 122.0), (10.0, 16.0), -15)], 8.0)


def _lips(image: np.ndarray, bend: float, centre_y: float, half_width: float, lower: float) -> np.ndarray:
    """Closed lips along the line y = centre_y + bend·u² (u from −1 to 1): bend > 0 turns the corners down."""
    cx = _MOUTH_X
    us = np.linspace(-1.0, 1.0, 41)
    line = [(cx + half_width * u, centre_y + bend * u * u) for u in us]
    # the upper lip has a shallow cupid's bow; both lips taper to the corners
    top = [(x, y - 2.8 * (1 - u ** 4) * (1 - 0.25 * math.exp(-(u * 6) ** 2))) for (x, y), u in zip(line, us)]
    bottom = [(x, y + lower * (1 - u * u) ** 0.8) for (x, y), u in zip(line, us)]
    shadow = np.zeros(image.shape[:2], np.float32)  # under the lower lip
    cv2.polylines(shadow, [_polyline((x, y + 2.0) for x, y in bottom[10:31])], False, 1.0, 2 * _EDIT_SCALE,
                  cv2.LINE_AA, _SHIFT)
    image = image * (1.0 - 0.25 * cv2.GaussianBlur(shadow, (0, 0), 1.2 * _EDIT_SCALE)[..., None])
    lips = np.zeros(image.shape[:2], np.float32)
    cv2.fillPoly(lips, [_polyline(top + bottom[::-1])], 1.0, cv2.LINE_AA, _SHIFT)
    image = _blend(image, _LIP, cv2.GaussianBlur(lips, (0, 0), 0.4 * _EDIT_SCALE)[..., None])
    cv2.polylines(image, [_polyline(line)], False, _LIP_LINE, int(1.2 * _EDIT_SCALE), cv2.LINE_AA, _SHIFT)
    return image


def _brows(image: np.ndarray, inner, middle, outer, darken: float) -> np.ndarray:
    """Move both brows symmetrically ((towards the nose, up) offsets per point) and darken them.

    The photograph's brows are faint; drawn darker, their new shape reads at classroom distance.
    """
    moves = []
    for brow, side in ((_LEFT_BROW, 1.0), (_RIGHT_BROW[::-1], -1.0)):  # both ordered outer → inner
        for (x, y), (towards, up) in zip(brow, (outer, middle, inner)):
            moves.append(((x, y), (x + side * towards, y - up)))
    eyes_and_forehead = ((55, 91), (63, 93), (71, 92), (98, 93), (106, 94), (114, 92), (85, 95), (85, 65),
                         (45, 70), (125, 70), (62, 70), (108, 70))
    image = _warp(image, moves, eyes_and_forehead + _FACE_ANCHORS[4:])
    strokes = np.zeros(image.shape[:2], np.float32)
    for brow in ((to for _, to in moves[:3]), (to for _, to in moves[3:])):
        (x0, y0), (xm, ym), (x1, y1) = brow
        curve = [((1 - u) ** 2 * x0 + 2 * (1 - u) * u * xm + u * u * x1,
                  (1 - u) ** 2 * y0 + 2 * (1 - u) * u * ym + u * u * y1) for u in np.linspace(0, 1, 15)]
        cv2.polylines(strokes, [_polyline(curve)], False, 1.0, 2 * _EDIT_SCALE, cv2.LINE_AA, _SHIFT)
    return image * (1.0 - darken * cv2.GaussianBlur(strokes, (0, 0), 0.7 * _EDIT_SCALE)[..., None])


def _lower_lids(image: np.ndarray, amount: float) -> np.ndarray:
    """Upper eyelids lowered by `amount` region pixels (a glare, or drooping lids)."""
    moves = []
    for x, y in (_LEFT_EYE, _RIGHT_EYE):
        for dx, share in ((-5.0, 0.7), (0.0, 1.0), (5.0, 0.7)):
            moves.append(((x + dx, y - 3.2 + abs(dx) * 0.2), (x + dx, y - 3.2 + abs(dx) * 0.2 + amount * share)))
    fixed = ((63, 95), (106, 96), (52, 92), (74, 92), (95, 93), (117, 92), (63, 80), (106, 81), (85, 100))
    return _warp(image, moves, fixed + _FACE_ANCHORS[8:])


def _knit(image: np.ndarray) -> np.ndarray:
    """Two vertical creases between the brows."""
    creases = np.zeros(image.shape[:2], np.float32)
    for x, lean in ((81.5, -0.8), (88.5, 0.8)):
        cv2.line(creases, _point(x, 77.0), _point(x + lean, 86.0), 1.0, _EDIT_SCALE, cv2.LINE_AA, _SHIFT)
    return image * (1.0 - 0.35 * cv2.GaussianBlur(creases, (0, 0), 0.6 * _EDIT_SCALE)[..., None])


def _eyes_down(image: np.ndarray) -> np.ndarray:
    """Eyes looking down at a desk, seen from the front of the room: the lids cover them down to the lashes."""
    lids = [((x, y - 0.5), (9.5, 4.5), 0) for x, y in (_LEFT_EYE, _RIGHT_EYE)]
    image = _smooth_inside(image, lids, 4.0)  # the lid takes the colour of the skin around the eye
    for x, y in (_LEFT_EYE, _RIGHT_EYE):
        lash = [(x + 9.0 * u, y + 1.5 + 1.0 * (1 - u * u)) for u in np.linspace(-1.0, 1.0, 21)]
        cv2.polylines(image, [_polyline(lash)], False, (55.0, 60.0, 85.0), int(1.2 * _EDIT_SCALE), cv2.LINE_AA, _SHIFT)
    return image


# Landmarks with their depth towards the camera (region px), for bending the head forward: the
# nose tip stands out furthest and so drops furthest, towards the mouth.
_HEAD_POINTS = ((85, 72, 8), (60, 74, 4), (110, 74, 4), (62, 79, 6), (108, 80, 6), (63, 91.5, 0), (106, 92.5, 0),
                (52, 91, -3), (116, 92, -3), (85, 95, 8), (85, 117, 24), (78, 121, 14), (92, 121, 14),
                (84, 135, 12), (65, 132, 5), (103, 132, 5), (85, 162, 10), (55, 150, -5), (115, 150, -5),
                (50, 115, 0), (120, 115, 0), (35, 100, -15), (135, 100, -15))
_HEAD_DOWN_DEGREES = 40.0
# Points that stay: the top of the head (its outline), the neck and shoulders, the image corners.
_HEAD_FIXED = ((85, 15), (50, 25), (120, 25), (25, 60), (145, 60), (40, 185), (130, 185), (85, 200),
               (0, 0), (169, 0), (0, 239), (169, 239))


def _bent_forward(x: float, y: float, depth: float) -> tuple[float, float]:
    """Where a point of the upright face appears once the head bends forward about the chin."""
    pitch = math.radians(_HEAD_DOWN_DEGREES)
    return x, _CHIN_Y - (_CHIN_Y - y) * math.cos(pitch) + depth * math.sin(pitch)


def _bend_forward(image: np.ndarray) -> np.ndarray:
    """The head bent forward: the face foreshortens towards the chin, the nose drops over the mouth
    and the hair comes down over the forehead (the crown comes into view)."""
    moves = [((x, y), _bent_forward(x, y, depth)) for x, y, depth in _HEAD_POINTS]
    return _warp(image, moves, _HEAD_FIXED)


def _head_down_face_rows() -> tuple[float, float]:
    """Top and bottom of the face box (region px) once the head is bent forward: the box's top
    edge lies on the forehead, its bottom on the chin (depths as in _HEAD_POINTS)."""
    return _bent_forward(0.0, _FACE_IN_REGION[1], 6.0)[1], _bent_forward(0.0, _FACE_IN_REGION[3], 10.0)[1]


def _expression(photo: np.ndarray, expression: str) -> np.ndarray:
    """The photograph (BGR float32 on the edit canvas) edited to show a FER2013 expression."""
    image = cv2.resize(photo, None, fx=_EDIT_SCALE, fy=_EDIT_SCALE, interpolation=cv2.INTER_CUBIC).astype(np.float32)
    if expression == "happy":
        return image  # the photograph's own broad smile
    image = _without_smile(image)
    if expression == "neutral":
        return _lips(image, bend=1.5, centre_y=135.0, half_width=14.0, lower=3.6)
    if expression == "sad":  # corners down, inner brows raised, drooping lids
        image = _lips(image, bend=9.0, centre_y=133.0, half_width=13.0, lower=5.0)
        image = _brows(image, inner=(1.0, 7.0), middle=(0.0, 2.0), outer=(0.0, -3.0), darken=0.5)
        return _lower_lids(image, 2.0)
    if expression == "angry":  # brows drawn down and together, a glare, lips pressed into a frown
        image = _lips(image, bend=6.0, centre_y=134.0, half_width=12.0, lower=2.0)
        image = _brows(image, inner=(5.0, -8.0), middle=(2.0, -5.0), outer=(0.0, 0.0), darken=0.8)
        return _knit(_lower_lids(image, 2.2))
    raise ValueError(f"no demo face for expression {expression!r}; use one of {', '.join(EXPRESSIONS)}")


@lru_cache(maxsize=None)
def _alpha(head_down: bool) -> np.ndarray:
    """The sprite's alpha (float32): an ellipse around head and shoulders, soft-edged."""
    h, w = _photo().shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, int(h * 0.45)), (int(w * 0.46), int(h * 0.5)), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 4)
    if not head_down:
        return alpha
    big = cv2.resize(alpha, (w * _EDIT_SCALE, h * _EDIT_SCALE), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(_bend_forward(big), (w, h), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=None)
def _footprint() -> np.ndarray:
    """Where any look's alpha is non-zero: patches are cut to it, so looks of a student blend."""
    return np.maximum(_alpha(False), _alpha(True))


@lru_cache(maxsize=None)
def _sprite(expression: str, head_down: bool) -> tuple[np.ndarray, np.ndarray]:
    """Head-and-shoulders sprite (BGR uint8) and its alpha (float32) at the photograph's resolution."""
    photo = _photo()
    if expression == "happy" and not head_down:
        return photo, _alpha(False)
    image = _expression(photo, expression)
    if head_down:
        image = _bend_forward(_eyes_down(image))
    h, w = photo.shape[:2]
    image = cv2.resize(np.clip(image, 0, 255), (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.clip(np.round(image), 0, 255).astype(np.uint8)), _alpha(head_down)


# -- the class and its lesson -------------------------------------------------------------------

@dataclass(frozen=True)
class Student:
    ident: int
    seat: tuple[float, float]  # face centre, fraction of frame
    face_px: float  # face box side at 1280 px frame width
    brightness: float
    mirrored: bool
    phase: float
    present: tuple[tuple[float, float], ...] = ((0.0, math.inf),)  # (enter, leave) intervals, lesson seconds
    walk_in: bool = False  # walks from the door to the seat when entering
    expressions: tuple[tuple[float, str], ...] = ((0.0, "neutral"),)  # (from, expression), lesson seconds
    heads_down: tuple[tuple[float, float], ...] = ()  # (from, to): looking down at the desk


@dataclass(frozen=True)
class TruthFace:
    ident: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 pixels
    occluded: bool
    expression: str  # the scripted FER2013 class
    head_down: bool  # looking down at the desk


def lesson_phase(t: float) -> Phase:
    """The lesson phase playing at scene time t (the lesson repeats in longer scenes)."""
    lesson_t = t % LESSON_SECONDS
    return next(phase for phase in LESSON if phase.start <= lesson_t < phase.end)


def _script(rng: np.random.Generator, index: int) -> tuple[tuple[float, str], ...]:
    """One student's expressions through the lesson.

    Each phase deals its moods out in turn (so any class size gets all of them), except that one
    student in eight, a different one each time, keeps a straight face through the change. Calm
    phases have the odd passing smile.
    """
    script: list[tuple[float, str]] = []
    for number, phase in enumerate(LESSON):
        onset = phase.start + (rng.uniform(0.0, _ONSET_SPREAD) if phase.start > 0 else 0.0)
        unmoved = index % 8 == (5 + 5 * number) % 8
        script.append((onset, "neutral" if unmoved else phase.moods[index % len(phase.moods)]))
        if phase.moods == ("neutral",) and rng.random() < 0.4:  # a passing smile, a few seconds long
            smile = rng.uniform(onset + 5.0, phase.end - 10.0)
            script += [(smile, "happy"), (smile + rng.uniform(2.5, 4.0), "neutral")]
    return tuple(sorted(script))


def _desk_glances(rng: np.random.Generator) -> tuple[tuple[float, float], ...]:
    """Looking down at the desk for 3–6 s, about once every 40 s, at random."""
    glances = []
    t = rng.uniform(3.0, 30.0)
    while t < LESSON_SECONDS - 3.0:
        end = min(t + rng.uniform(3.0, 6.0), LESSON_SECONDS)
        glances.append((t, end))
        t = end + rng.uniform(25.0, 50.0)
    return tuple(glances)


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
    # The lesson comes from its own generator so that seats and looks stay as they always were.
    script_rng = np.random.default_rng([seed, 1])
    return [replace(student, expressions=_script(script_rng, student.ident),
                    heads_down=_desk_glances(script_rng)) for student in students]


@dataclass(frozen=True)
class _Look:
    expression: str
    head_down: bool


def _timeline(student: Student) -> tuple[list[float], list[_Look]]:
    """The student's looks through the lesson: change times and the look from each on."""
    glances = [(time, None, down) for start, end in student.heads_down for time, down in ((start, True), (end, False))]
    events = sorted([(start, expression, None) for start, expression in student.expressions] + glances,
                    key=lambda event: event[0])
    times, looks = [0.0], [_Look("neutral", False)]
    for time, expression, head_down in events:
        look = _Look(expression or looks[-1].expression, looks[-1].head_down if head_down is None else head_down)
        if look == looks[-1]:
            continue
        if time == times[-1]:
            looks[-1] = look
        else:
            times.append(time)
            looks.append(look)
    return times, looks


class DemoScene:
    """Deterministic classroom: render(t) → (BGR frame, ground truth)."""

    def __init__(self, width: int = 1280, height: int = 720, faces: int = 16, seconds: float = LESSON_SECONDS,
                 fps: float = 15.0, seed: int = 7):
        self.width, self.height, self.seconds, self.fps = width, height, seconds, fps
        self.students = _students(faces, seed)
        self._timelines = {student.ident: _timeline(student) for student in self.students}
        self._background = self._classroom(seed)
        self._patches: OrderedDict = OrderedDict()

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

    def _patch(self, student: Student, look: _Look, face: float, roll_bucket: int
               ) -> tuple[np.ndarray, np.ndarray, float, float]:
        """The student's sprite in a look, scaled and rolled, with its alpha and the face centre in the patch.

        Cached per (student, look, size, 2° roll step), least recently used first out: rendering
        a frame is then only alpha blending.
        """
        key = (student.ident, look, round(face, 1), roll_bucket)
        cached = self._patches.get(key)
        if cached is not None:
            self._patches.move_to_end(key)
            return cached
        sprite, alpha = _sprite(look.expression, look.head_down)
        footprint = _footprint()
        if student.mirrored:
            sprite, alpha, footprint = sprite[:, ::-1], alpha[:, ::-1], footprint[:, ::-1]
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
        covered = cv2.warpAffine(np.ascontiguousarray(footprint), matrix, (side, side)) > 1e-3
        rows, cols = np.nonzero(covered)  # keep only the footprint, the same for all of a student's looks
        y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        weight = weight[y0:y1, x0:x1]
        patch = np.clip(patch[y0:y1, x0:x1].astype(np.float32) * student.brightness, 0, 255) * weight
        cached = (patch, 1.0 - weight, side / 2.0 - x0, side / 2.0 - y0)
        self._patches[key] = cached
        if len(self._patches) > _PATCH_CACHE:
            self._patches.popitem(last=False)
        return cached

    def _look(self, student: Student, lesson_t: float) -> tuple[_Look, _Look | None, float]:
        """The student's look, the one before it while still fading out (else None), and the fade's progress."""
        times, looks = self._timelines[student.ident]
        index = bisect_right(times, lesson_t) - 1
        since = lesson_t - times[index]
        if index > 0 and since < _FADE_SECONDS:
            return looks[index], looks[index - 1], since / _FADE_SECONDS
        return looks[index], None, 1.0

    def _paste(self, frame: np.ndarray, student: Student, cx: float, cy: float, face: float, roll: float,
               looks: tuple[_Look, _Look | None, float]) -> None:
        look, previous, mix = looks
        bucket = int(round(roll / 2.0))
        patch, keep, px, py = self._patch(student, look, face, bucket)
        if previous is not None:  # expressions and heads change over a moment, not from one frame to the next
            old_patch, old_keep, _, _ = self._patch(student, previous, face, bucket)
            patch, keep = mix * patch + (1 - mix) * old_patch, mix * keep + (1 - mix) * old_keep
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
        lesson_t = t % LESSON_SECONDS
        for student in sorted(self.students, key=lambda s: s.face_px):  # back rows first
            pose = self._pose(student, lesson_t)
            if pose is None:
                continue
            cx, cy, face, roll = pose
            looks = self._look(student, lesson_t)
            self._paste(frame, student, cx, cy, face, roll, looks)
            occluded = self._occluded(student, lesson_t)
            if occluded:
                hand = (int(cx - face * 0.45), int(cy - face * 0.1), int(cx + face * 0.45), int(cy + face * 0.6))
                cv2.rectangle(frame, hand[:2], hand[2:], (120, 150, 200), -1)
            look = looks[0]
            half = face / 2.0
            top, bottom = -half, half
            if look.head_down:  # the foreshortened face, relative to the upright face's centre
                zoom = face / (_FACE_IN_REGION[2] - _FACE_IN_REGION[0])
                centre = (_FACE_IN_REGION[1] + _FACE_IN_REGION[3]) / 2.0
                top, bottom = ((row - centre) * zoom for row in _head_down_face_rows())
            box = (cx - half, cy + top, cx + half, cy + bottom)
            if box[0] >= 0 and box[2] <= self.width and box[1] >= 0 and box[3] <= self.height:
                truth.append(TruthFace(student.ident, box, occluded, look.expression, look.head_down))
        return frame, truth
