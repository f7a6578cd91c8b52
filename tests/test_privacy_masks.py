import numpy as np
import pytest

from edge.capture.demo import DemoScene
from edge.config import Config, PrivacyConfig
from edge.detect.detector import FaceDetector, PrivacyMask
from edge.detect.tiling import point_in_polygon
from edge.types import Detection

LEFT_HALF = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]


def _face_at(cx: float, cy: float) -> Detection:
    return Detection((cx - 10, cy - 10, cx + 10, cy + 10), 0.9, np.zeros((6, 2), np.float32))


def test_point_in_polygon():
    square = np.array(LEFT_HALF)
    assert point_in_polygon(0.25, 0.5, square)
    assert not point_in_polygon(0.75, 0.5, square)
    triangle = np.array([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])
    assert point_in_polygon(0.2, 0.2, triangle) and not point_in_polygon(0.8, 0.8, triangle)


def test_mask_drops_faces_whose_centre_is_inside():
    mask = PrivacyMask(PrivacyConfig(masks=[LEFT_HALF]))
    assert not mask.allows(_face_at(100, 240), 640, 480)
    assert mask.allows(_face_at(500, 240), 640, 480)


def test_mask_polygons_are_validated():
    with pytest.raises(ValueError, match="at least 3 points"):
        PrivacyConfig(masks=[[(0.0, 0.0), (1.0, 1.0)]])
    with pytest.raises(ValueError, match="0 to 1"):
        PrivacyConfig(masks=[[(0.0, 0.0), (640.0, 0.0), (0.0, 480.0)]])


def test_detector_never_returns_masked_faces_on_the_demo_scene():
    scene = DemoScene(width=1280, height=720, faces=10, seconds=5)
    image, truth = scene.render(2.0)
    assert any(f.box[2] < 640 for f in truth) and any(f.box[0] > 640 for f in truth)
    open_detector = FaceDetector(Config().detection, PrivacyConfig())
    masked_detector = FaceDetector(Config().detection, PrivacyConfig(masks=[LEFT_HALF]))
    everything = open_detector.sweep(image)
    masked = masked_detector.sweep(image)
    assert any(d.centre[0] < 640 for d in everything)
    assert masked and all(d.centre[0] >= 640 for d in masked)
    assert len(masked) == sum(d.centre[0] >= 640 for d in everything)
