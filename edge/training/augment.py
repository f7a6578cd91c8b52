"""Per-face augmentation that emulates classroom cameras, in numpy/OpenCV (no framework).

A 48 px FER2013 face becomes one model input (size×size uint8) in the order a camera and the
pipeline produce it: detector jitter (one affine warp, as `aligned_crop` does), lighting, then
— for most faces — the classroom degradations of `edge.evaluation.degrade` at a random face
size (fewer pixels, blur, sensor noise, compression), then the classifier's own resize to the
input size, and occluders. The random stream depends only on (seed, stage, epoch, batch), so a
batch has the same pixels whichever process makes it, and a resumed run sees the same data.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from edge.evaluation.degrade import compress, downscale, gaussian_blur, gaussian_noise
from edge.inference.preprocess import resize_square
from edge.training.recipe import AugmentConfig


def jitter_warp(face: np.ndarray, size: int, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Rotation, zoom, shift and mirror, warped straight from the face to size×size."""
    side = face.shape[0]
    angle = rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg)
    scale = (size / side) * (1.0 + rng.uniform(-cfg.zoom_range, cfg.zoom_range))
    centre = ((side - 1) / 2.0, (side - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    shift = rng.uniform(-cfg.max_shift, cfg.max_shift, 2) * size
    matrix[:, 2] += (size - 1) / 2.0 - np.array(centre) + shift
    if rng.random() < 0.5:  # mirror the output about its vertical centre line
        matrix[0] = -matrix[0]
        matrix[0, 2] += size - 1
    return cv2.warpAffine(face, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def lighting(face: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Gamma, contrast around the mean, brightness; uint8 in and out."""
    unit = np.clip(face.astype(np.float32) / 255.0, 1e-4, 1.0)
    unit = unit ** math.exp(rng.uniform(-cfg.gamma, cfg.gamma))
    mean = float(unit.mean())
    unit = (unit - mean) * (1.0 + rng.uniform(-cfg.contrast, cfg.contrast)) + mean
    unit += rng.uniform(-cfg.brightness, cfg.brightness)
    return np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)


def classroom_degradation(face: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A random face size, blur, noise and JPEG quality; returns the face at its degraded size.

    Face sizes are drawn uniformly in log scale over [min, max] px, so small faces are as
    common as large ones per octave; blur and noise are at the degraded face's own scale.
    """
    size = int(round(math.exp(rng.uniform(math.log(cfg.min_face_px), math.log(cfg.max_face_px)))))
    face = downscale(face, size)
    if rng.random() < cfg.degrade_blur_probability:
        face = gaussian_blur(face, rng.uniform(0.3, cfg.degrade_blur_sigma_max))
    if rng.random() < cfg.degrade_noise_probability:
        face = gaussian_noise(face, rng.uniform(1.0, cfg.degrade_noise_sigma_max), rng)
    if rng.random() < cfg.jpeg_probability:
        face = compress(face, int(rng.integers(cfg.jpeg_quality_min, cfg.jpeg_quality_max + 1)))
    return face


def occlude(face: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A flat rectangle of random grey (a hand, a mask, a pen)."""
    size = face.shape[0]
    h, w = (rng.uniform(0.15, cfg.occlusion_max_side, 2) * size).astype(int)
    y0, x0 = int(rng.uniform(0, size - h)), int(rng.uniform(0, size - w))
    face = face.copy()
    face[y0:y0 + h, x0:x0 + w] = int(rng.integers(0, 256))
    return face


def augment_face(face: np.ndarray, size: int, cfg: AugmentConfig, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One 48 px uint8 face → one size×size uint8 training input, and the side in pixels the face
    had on its way (its degraded size, else the source's)."""
    out = lighting(jitter_warp(face, size, cfg, rng), cfg, rng)
    face_px = face.shape[0]
    if rng.random() < cfg.degrade_probability:
        degraded = classroom_degradation(out, cfg, rng)
        face_px = degraded.shape[0]
        out = resize_square(degraded, size)
    elif rng.random() < cfg.blur_probability:  # clean faces: the old mild softness and noise
        out = gaussian_blur(out, 0.8)
    if rng.random() < cfg.occlusion_probability:
        out = occlude(out, cfg, rng)
    if cfg.noise_std_max > 0 and rng.random() < 0.5:
        out = gaussian_noise(out, rng.uniform(0.0, cfg.noise_std_max), rng)
    return out, face_px


def batch_rng(seed: int, stage: int, epoch: int, batch: int) -> np.random.Generator:
    return np.random.default_rng([seed, stage, epoch, batch])


def augment_batch(faces: np.ndarray, size: int, cfg: AugmentConfig,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(N, 48, 48) uint8 → (N, size, size, 1) uint8 inputs and (N,) face sides (see augment_face)."""
    out = np.empty((len(faces), size, size, 1), np.uint8)
    face_px = np.empty(len(faces), np.int32)
    for index, face in enumerate(faces):
        out[index, :, :, 0], face_px[index] = augment_face(face, size, cfg, rng)
    return out, face_px
