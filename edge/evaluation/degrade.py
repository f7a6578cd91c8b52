"""What a classroom camera does to a face: fewer pixels, compression, blur, sensor noise.

Pure numpy/OpenCV functions on uint8 grey faces. The evaluation protocol (`PROTOCOL`) and the
training augmentation (`edge.training.augment`) are both built from the primitives below, so
the degradations the model learns from are the ones it is measured on — except those marked
`held_out`, which training never applies (another codec, another resampling): they show
whether the model learned small faces or only this protocol.

A degraded face stays at the degraded size (e.g. 24×24): bringing it to the model's input
size is the classifier's own preprocessing (`ExpressionClassifier.predict` → `resize_square`),
exactly as for a small face cropped from a camera frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# cv2 resampling used when a face is made smaller. INTER_AREA averages the pixels a camera
# sensor would integrate; INTER_NEAREST drops pixels (aliasing, as a cheap scaler does) and
# is kept out of training.
RESAMPLING = {"area": cv2.INTER_AREA, "nearest": cv2.INTER_NEAREST}
CODECS = {"jpeg": (".jpg", cv2.IMWRITE_JPEG_QUALITY), "webp": (".webp", cv2.IMWRITE_WEBP_QUALITY)}
TRAINED_CODEC = "jpeg"
TRAINED_RESAMPLING = "area"


def downscale(face: np.ndarray, size: int, resampling: str = TRAINED_RESAMPLING) -> np.ndarray:
    """A square face of `size` pixels (a smaller or farther face); unchanged if already that size."""
    if face.shape[0] == size and face.shape[1] == size:
        return face
    return cv2.resize(face, (size, size), interpolation=RESAMPLING[resampling])


def compress(face: np.ndarray, quality: int, codec: str = TRAINED_CODEC) -> np.ndarray:
    """Encode and decode once at the given quality (1–100), as a video or image codec does."""
    extension, flag = CODECS[codec]
    ok, encoded = cv2.imencode(extension, face, [flag, int(quality)])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {codec}")
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)


def gaussian_blur(face: np.ndarray, sigma: float) -> np.ndarray:
    """Optical / motion softness: Gaussian blur of `sigma` pixels at the face's own scale."""
    if sigma <= 0:
        return face
    return cv2.GaussianBlur(face, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def gaussian_noise(face: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: additive Gaussian of `sigma` grey levels, rounded and clipped to uint8."""
    if sigma <= 0:
        return face
    noisy = face.astype(np.float32) + rng.normal(0.0, sigma, face.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Degradation:
    """One evaluation condition, applied to a 48 px FER2013 face."""

    name: str
    size: int | None = None  # face side in pixels after downscaling; None: as is
    resampling: str = TRAINED_RESAMPLING
    codec: str | None = None
    quality: int = 50
    blur_sigma: float = 0.0  # pixels at the face's scale
    noise_sigma: float = 0.0  # grey levels
    held_out: bool = False  # never applied in training

    def apply(self, face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.size is not None:
            face = downscale(face, self.size, self.resampling)
        face = gaussian_blur(face, self.blur_sigma)
        face = gaussian_noise(face, self.noise_sigma, rng)
        if self.codec is not None:
            face = compress(face, self.quality, self.codec)
        return face


CLEAN = Degradation("48 px (as is)")
PROTOCOL: tuple[Degradation, ...] = (
    CLEAN,
    Degradation("48 px, JPEG 50", 48, codec="jpeg"),
    Degradation("32 px, JPEG 50", 32, codec="jpeg"),
    Degradation("24 px, JPEG 50", 24, codec="jpeg"),
    Degradation("18 px, JPEG 50", 18, codec="jpeg"),
    Degradation("blur σ 0.5 px", blur_sigma=0.5),
    Degradation("blur σ 1.0 px", blur_sigma=1.0),
    Degradation("blur σ 1.5 px", blur_sigma=1.5),
    Degradation("noise σ 2", noise_sigma=2.0),
    Degradation("noise σ 4", noise_sigma=4.0),
    Degradation("noise σ 6", noise_sigma=6.0),
    # Held out of training: another codec at the same size, another resampling at the same size.
    # Each is as hard as the trained condition it is compared with, or the gains cannot be compared
    # (WebP 50 hurts far less than JPEG 50). Quality 13 is where the full-resolution model
    # (models/expression_int8.tflite, never trained on small faces) reads PublicTest at 32 px as
    # well as at JPEG 50 (0.492 and 0.490; tests/test_degrade.py checks each pair).
    Degradation("32 px, WebP 13 (held out)", 32, codec="webp", quality=13, held_out=True),
    Degradation("24 px nearest, JPEG 50 (held out)", 24, resampling="nearest", codec="jpeg", held_out=True),
)
# Each held-out condition and the trained condition of the same face size it is compared with.
HELD_OUT_PAIRS = {"32 px, WebP 13 (held out)": "32 px, JPEG 50",
                  "24 px nearest, JPEG 50 (held out)": "24 px, JPEG 50"}
# The condition the training log follows each epoch (PublicTest), besides the clean one.
MONITOR = PROTOCOL[2]
PROTOCOL_SEED = 2024


def by_name(name: str) -> Degradation:
    for degradation in PROTOCOL:
        if degradation.name == name:
            return degradation
    raise KeyError(f"no degradation named {name!r}; known: {[d.name for d in PROTOCOL]}")


def degrade_all(faces: np.ndarray, degradation: Degradation, seed: int = PROTOCOL_SEED) -> list[np.ndarray]:
    """Every face under one condition; the same faces, condition and seed give the same pixels."""
    rng = np.random.default_rng([seed, PROTOCOL.index(degradation) if degradation in PROTOCOL else 999])
    return [degradation.apply(face, rng) for face in faces]
