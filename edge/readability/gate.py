"""The readability gate: which detected faces give expression readings, which have their head up.

Expressions come only from readable faces: turned or bent faces read as another expression to
any FER2013-trained model (a face over a desk reads as sad), and faces below the size the model
reads well add mostly noise. Unreadable faces still count as present, and for attention.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge.config import ReadabilityConfig
from edge.readability.pose import HeadPose, head_pose
from edge.readability.sharpness import sharpness
from edge.types import Detection

DEFAULT_MIN_FACE_PX = 20.0


@dataclass(frozen=True)
class Readability:
    pose: HeadPose
    readable: bool
    heads_up: bool  # facing the front of the room (where the camera is), head not bent down
    reason: str | None  # why not readable: "pose", "small", "blurred"


class ReadabilityGate:
    def __init__(self, cfg: ReadabilityConfig, model_min_face_px: float | None = None,
                 model_min_sharpness: float | None = None):
        self.cfg = cfg
        self.min_face_px = cfg.min_face_px or model_min_face_px or DEFAULT_MIN_FACE_PX
        self.min_sharpness = cfg.min_sharpness if cfg.min_sharpness is not None else (model_min_sharpness or 0.0)

    @classmethod
    def for_model(cls, cfg: ReadabilityConfig, crop_margin: float, model_metadata: dict) -> "ReadabilityGate":
        """The gate with the floors the model's metadata records. The size floor is measured in crop
        pixels (what the model sees), so it is converted to face-box pixels with the crop margin."""
        measured = model_metadata.get("readability", {})
        min_crop_px = measured.get("min_crop_px")
        return cls(cfg, min_crop_px / (1.0 + 2.0 * crop_margin) if min_crop_px else None,
                   measured.get("min_sharpness"))

    def assess(self, detection: Detection) -> Readability:
        pose = head_pose(detection.keypoints)
        cfg = self.cfg
        heads_up = abs(pose.yaw) <= cfg.heads_up_max_yaw and pose.pitch >= cfg.heads_up_min_pitch
        reason = None
        if abs(pose.yaw) > cfg.max_yaw or not cfg.min_pitch <= pose.pitch <= cfg.max_pitch:
            reason = "pose"
        elif detection.size < self.min_face_px:
            reason = "small"
        return Readability(pose, reason is None, heads_up, reason)

    def assess_crop(self, assessment: Readability, crop: np.ndarray) -> Readability:
        """A face readable by its pose and size whose crop holds too little detail is not read."""
        if not assessment.readable or self.min_sharpness <= 0 or sharpness(crop) >= self.min_sharpness:
            return assessment
        return replace(assessment, readable=False, reason="blurred")
