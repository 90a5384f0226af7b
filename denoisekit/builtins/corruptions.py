"""Builtin corruptions: gaussian, salt-and-pepper, grayscale (TensorFlow ops on NHWC batches in [0, 1])."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import hookimpl
from ..impulses import impulse_fill, impulse_pixels
from ..noise_ops import per_image, split_seed
from ..params import Param
from ..plugin_types import Corruption

#: ITU-R BT.601 luma weights, the ones OpenCV's BGR2GRAY uses (here in RGB order).
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


class Gaussian(Corruption):
    name = "gaussian"
    description = "Additive white Gaussian noise; sigma on the 0-255 scale, or lo:hi for one level per image."
    params = (
        Param("sigma", "range", 25.0, 0, 255, help="noise std on the 0-255 scale, or lo:hi sampled per image"),
        Param("clip", "bool", True, help="clip to [0, 1] as a stored image would be"),
    )

    def apply(self, images: Any, seed: Any, sigma: Any = 25.0, clip: bool = True) -> Any:
        import tensorflow as tf

        noise_seed, level_seed = split_seed(seed)
        std = per_image(sigma, images, level_seed) / 255.0
        noisy = images + tf.random.stateless_normal(tf.shape(images), noise_seed) * std
        return tf.clip_by_value(noisy, 0.0, 1.0) if clip else noisy


class SaltAndPepper(Corruption):
    name = "salt-and-pepper"
    description = "Impulse noise: a fraction of pixels set to white (salt) or black (pepper)."
    params = (
        Param("amount", "range", 0.1, 0, 1, help="fraction of corrupted pixels, or lo:hi sampled per image"),
        Param("salt_vs_pepper", "float", 0.5, 0, 1, help="share of corrupted pixels that turn white"),
    )

    def apply(self, images: Any, seed: Any, amount: Any = 0.1, salt_vs_pepper: float = 0.5) -> Any:
        import tensorflow as tf

        where_seed, which_seed, level_seed = split_seed(seed, 3)
        shape = tf.concat([tf.shape(images)[:3], [1]], axis=0)  # one draw per pixel, all channels
        hit = tf.random.stateless_uniform(shape, where_seed) < per_image(amount, images, level_seed)
        salt = tf.random.stateless_uniform(shape, which_seed) < salt_vs_pepper
        impulse = tf.cast(salt, images.dtype) * tf.ones_like(images)
        return tf.where(hit, impulse, images)

    def untouched(self, noisy: np.ndarray) -> np.ndarray:
        # An impulse turns every channel of a pixel pure white or black at once: any pixel
        # that is not all-0 or all-1 is the clean pixel itself (a saturated red too).
        return np.broadcast_to(~impulse_pixels(noisy)[..., None], noisy.shape)

    #: How far ``fill`` looks: the switching median's largest window (15 px) reaches 7 px a side
    #: (the edge-directed fill, 2).
    fill_radius = 7

    def fill(self, noisy: np.ndarray) -> np.ndarray:
        return impulse_fill(noisy)


class Grayscale(Corruption):
    name = "grayscale"
    description = "Drops color (BT.601 luma in every channel): what a colorization model learns to undo."
    params = ()

    def apply(self, images: Any, seed: Any) -> Any:
        import tensorflow as tf

        if images.shape[-1] == 1:
            return images
        luma = tf.reduce_sum(images * tf.constant(LUMA_WEIGHTS, images.dtype), axis=-1, keepdims=True)
        return tf.repeat(luma, images.shape[-1], axis=-1)


@hookimpl
def register_corruptions(register):
    register(Gaussian())
    register(SaltAndPepper())
    register(Grayscale())
