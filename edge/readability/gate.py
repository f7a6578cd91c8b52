"""The readability gate: which detected faces give expression readings, which have their head up.

Expressions come only from readable faces: turned or bent faces read as another expression to
any FER2013-trained model (a face over a desk reads as sad), and faces below the size the model
reads well add mostly noise. Unreadable faces still count as present, and for attention.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config import ReadabilityConfig
from edge.readability.pose import HeadPose, head_pose
from edge.types import Detection

DEFAULT_MIN_FACE_PX = 20.0


@dataclass(frozen=True)
class Readability:
    pose: HeadPose
    readable: bool
    heads_up: bool  # facing the front of the room (where the camera is), head not bent down
    reason: str | None  # why not readable: "pose", "small"


class ReadabilityGate:
    def __init__(self, cfg: ReadabilityConfig, model_min_face_px: float | None = None):
        self.cfg = cfg
        self.min_face_px = cfg.min_face_px or model_min_face_px or DEFAULT_MIN_FACE_PX

    @classmethod
    def for_model(cls, cfg: ReadabilityConfig, crop_margin: float, model_metadata: dict) -> "ReadabilityGate":
        """The gate with the size floor the model's metadata records; it is measured in crop pixels
        (what the model sees), so it is converted to face-box pixels with the crop margin."""
        min_crop_px = model_metadata.get("readability", {}).get("min_crop_px")
        return cls(cfg, min_crop_px / (1.0 + 2.0 * crop_margin) if min_crop_px else None)

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
