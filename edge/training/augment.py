"""Batch augmentation that emulates classroom webcams, vectorised in TensorFlow.

Operates on float32 batches (N, S, S, 1) in the 0–255 pixel range.
"""

from __future__ import annotations

import math

import tensorflow as tf

from edge.training.recipe import AugmentConfig


def _affine(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    n = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1], tf.float32)
    angle = tf.random.uniform([n], -1.0, 1.0) * cfg.max_rotation_deg * math.pi / 180.0
    scale = 1.0 + tf.random.uniform([n], -cfg.zoom_range, cfg.zoom_range)
    flip = tf.where(tf.random.uniform([n]) < 0.5, -1.0, 1.0)
    tx = tf.random.uniform([n], -cfg.max_shift, cfg.max_shift) * size
    ty = tf.random.uniform([n], -cfg.max_shift, cfg.max_shift) * size
    centre = (size - 1.0) / 2.0
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # Output→input mapping (what ImageProjectiveTransform wants): rotate/zoom about the centre,
    # mirror horizontally for flipped samples, then shift.
    a0, a1 = cos * flip, -sin
    b0, b1 = sin * flip, cos
    a2 = centre - a0 * centre - a1 * centre + tx
    b2 = centre - b0 * centre - b1 * centre + ty
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")


def _photometric(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    n = tf.shape(images)[0]
    unit = images / 255.0
    gamma = tf.exp(tf.random.uniform([n, 1, 1, 1], -cfg.gamma, cfg.gamma))
    unit = tf.pow(tf.clip_by_value(unit, 1e-4, 1.0), gamma)
    mean = tf.reduce_mean(unit, axis=[1, 2, 3], keepdims=True)
    contrast = 1.0 + tf.random.uniform([n, 1, 1, 1], -cfg.contrast, cfg.contrast)
    brightness = tf.random.uniform([n, 1, 1, 1], -cfg.brightness, cfg.brightness)
    unit = (unit - mean) * contrast + mean + brightness
    return tf.clip_by_value(unit, 0.0, 1.0) * 255.0


def _blur(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    kernel = tf.constant([1.0, 2.0, 1.0]) / 4.0
    kernel = tf.reshape(kernel[:, None] * kernel[None, :], [3, 3, 1, 1])
    blurred = tf.nn.conv2d(images, kernel, strides=1, padding="SAME")
    pick = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < cfg.blur_probability
    return tf.where(pick, blurred, images)


def _noise(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    std = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], 0.0, cfg.noise_std_max)
    return tf.clip_by_value(images + tf.random.normal(tf.shape(images)) * std, 0.0, 255.0)


def _occlude(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    """A flat rectangle of random grey (a hand, a mask, a pen) on some samples."""
    n = tf.shape(images)[0]
    size = tf.shape(images)[1]
    sizef = tf.cast(size, tf.float32)
    h = tf.random.uniform([n], 0.15, cfg.occlusion_max_side) * sizef
    w = tf.random.uniform([n], 0.15, cfg.occlusion_max_side) * sizef
    y0 = tf.random.uniform([n]) * (sizef - h)
    x0 = tf.random.uniform([n]) * (sizef - w)
    coords = tf.cast(tf.range(size), tf.float32)
    inside_y = (coords[None, :] >= y0[:, None]) & (coords[None, :] < (y0 + h)[:, None])
    inside_x = (coords[None, :] >= x0[:, None]) & (coords[None, :] < (x0 + w)[:, None])
    mask = inside_y[:, :, None] & inside_x[:, None, :]
    mask &= (tf.random.uniform([n]) < cfg.occlusion_probability)[:, None, None]
    grey = tf.random.uniform([n, 1, 1], 0.0, 255.0)
    return tf.where(mask[..., None], grey[..., None], images)


def augment(images: tf.Tensor, cfg: AugmentConfig) -> tf.Tensor:
    images = _affine(images, cfg)
    images = _photometric(images, cfg)
    images = _blur(images, cfg)
    images = _occlude(images, cfg)
    return _noise(images, cfg)
