"""Head pose (yaw, pitch) from the face detector's six keypoints, as pure functions.

A head turning by yaw moves the nose tip, which stands in front of the eyes, sideways against
the eye midpoint: Δx / IOD = (d / IOD) · tan(yaw). Bending down by θ moves the nose tip toward
the mouth: with eye→nose and eye→mouth drops a and b (frontal, in eye distances) and depths d
and dₘ in front of the eyes, the ratio n = drop(nose) / drop(mouth) obeys
n = (a cos θ + d sin θ) / (b cos θ + dₘ sin θ), so tan θ = (n b − a) / (d − n dₘ). Both ratios
are free of scale and roll (computed with the eyes levelled), and n is free of yaw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Frontal drops below the eye line in eye distances: medians of BlazeFace short-range keypoints on
# FER2013 PublicTest faces at 32 px (1,434 detected of 1,500; `python -m edge.readability.pose`
# re-measures them). The keypoints depend on the face's size in the model's input: full-range
# at 80 px gave 0.58 / 1.04.
FRONTAL_NOSE_DROP = 0.50
FRONTAL_MOUTH_DROP = 1.03
# Depths in front of the pupils' plane in eye distances (adult anthropometry: nose tip ~25 mm,
# lips ~10 mm in front of the pupils at an eye distance of ~63 mm).
NOSE_DEPTH = 0.40
MOUTH_DEPTH = 0.15


@dataclass(frozen=True)
class HeadPose:
    yaw: float  # degrees, + = the face turns toward the image right
    pitch: float  # degrees, − = looking down


def _levelled(keypoints: np.ndarray) -> tuple[np.ndarray, float]:
    """Keypoints relative to the eye midpoint with the eyes on a horizontal line, and the eye distance."""
    right_eye, left_eye = keypoints[0].astype(np.float64), keypoints[1].astype(np.float64)
    across = left_eye - right_eye
    distance = float(np.hypot(*across))
    angle = math.atan2(across[1], across[0])
    c, s = math.cos(-angle), math.sin(-angle)
    rotation = np.array([[c, -s], [s, c]])
    return (keypoints.astype(np.float64) - (right_eye + left_eye) / 2.0) @ rotation.T, distance


def keypoint_ratios(keypoints: np.ndarray) -> tuple[float, float, float] | None:
    """(nose Δx / IOD, nose drop / IOD, mouth drop / IOD), or None for degenerate keypoints."""
    levelled, distance = _levelled(keypoints)
    if distance < 1e-3:
        return None
    nose, mouth = levelled[2], levelled[3]
    return nose[0] / distance, nose[1] / distance, mouth[1] / distance


def head_pose(keypoints: np.ndarray) -> HeadPose:
    """keypoints: (6, 2) right eye, left eye, nose tip, mouth, right ear, left ear (pixels)."""
    ratios = keypoint_ratios(keypoints)
    if ratios is None:
        return HeadPose(0.0, -90.0)  # eyes on top of each other: nothing frontal about it
    nose_dx, nose_drop, mouth_drop = ratios
    yaw = math.degrees(math.atan2(nose_dx, NOSE_DEPTH))
    if mouth_drop <= 1e-3:
        return HeadPose(yaw, -90.0)
    n = nose_drop / mouth_drop
    down = math.atan2(n * FRONTAL_MOUTH_DROP - FRONTAL_NOSE_DROP, NOSE_DEPTH - n * MOUTH_DEPTH)
    return HeadPose(yaw, -math.degrees(down))


def _measure_frontal(shared) -> dict:
    """Median keypoint drops on FER2013 PublicTest faces (the constants above), as the product
    sees faces: BlazeFace short-range with the face at the size a tile around it gives."""
    import cv2

    from edge.datasets import load_fer2013
    from edge.detect.blazeface import SHORT_RANGE, BlazeFace, weighted_nms
    from edge.detect.tiling import ROI_FACE_SIDES

    faces = load_fer2013(shared, with_ferplus=False)["val"].images[:1500]
    detector = BlazeFace(SHORT_RANGE, 0.5)
    size, face_px = SHORT_RANGE.input_size, round(SHORT_RANGE.input_size / ROI_FACE_SIDES)
    offset = (size - face_px) // 2
    found = []
    for face in faces:
        canvas = np.full((size, size, 3), 128, np.uint8)
        canvas[offset:offset + face_px, offset:offset + face_px] = cv2.resize(
            face, (face_px, face_px), interpolation=cv2.INTER_AREA)[..., None]
        detections = weighted_nms(*detector.score(canvas), 0.3)
        if detections and (ratios := keypoint_ratios(detections[0][1] * size)) is not None:
            found.append(ratios)
    values = np.array(found)
    return {"faces": len(faces), "detected": len(found), "nose_dx": round(float(np.median(values[:, 0])), 3),
            "nose_drop": round(float(np.median(values[:, 1])), 3), "mouth_drop": round(float(np.median(values[:, 2])), 3)}


if __name__ == "__main__":
    import json

    from edge.paths import shared_dir

    print(json.dumps(_measure_frontal(shared_dir()), indent=2))
