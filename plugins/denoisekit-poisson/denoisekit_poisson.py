"""denoisekit plugin: Poisson-Gaussian noise, the sensor model of low-light photos and microscopy.

A pixel of brightness ``x`` in [0, 1] collects ``Poisson(peak * x)`` photons (shot
noise), scaled back by ``1 / peak``; the readout adds Gaussian noise of std
``read_sigma / 255``. The noise variance is therefore ``x / peak + (read_sigma / 255)^2``:
signal-dependent, strongest in the highlights in absolute terms and in the
shadows relative to the signal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from denoisekit import Corruption, Param, hookimpl
from denoisekit.noise_ops import per_image, split_seed

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["Poisson", "register_corruptions"]

#: A fixed value, or a (lo, hi) range sampled per image.
Level = float | tuple[float, float]


class Poisson(Corruption):
    """Shot noise (Poisson in photon counts) plus Gaussian read noise."""

    name = "poisson"
    description = "Poisson-Gaussian sensor noise: shot noise at `peak` photons for white, plus read noise."
    params = (
        Param("peak", "range", 30.0, 0.1, 1e5,
              help="photons at white (lower is noisier), or lo:hi sampled log-uniformly per image"),
        Param("read_sigma", "range", 0.0, 0, 255,
              help="Gaussian read-noise std on the 0-255 scale, or lo:hi sampled per image"),
        Param("clip", "bool", True, help="clip to [0, 1] as a stored image would be"),
    )

    def apply(self, images: tf.Tensor, seed: tf.Tensor, peak: Level = 30.0,
              read_sigma: Level = 0.0, clip: bool = True) -> tf.Tensor:
        import tensorflow as tf

        shot_seed, read_seed, peak_seed, sigma_seed = split_seed(seed, 4)
        # A range of peaks is sampled log-uniformly: noise std goes as 1/sqrt(peak),
        # so a uniform draw over 1:1000 would almost never give the noisy low end.
        if isinstance(peak, tuple):
            log_peak = per_image((math.log(peak[0]), math.log(peak[1])), images, peak_seed)
            photons_at_white = tf.exp(log_peak)
        else:
            photons_at_white = per_image(peak, images, peak_seed)
        rate = tf.maximum(images, 0.0) * photons_at_white
        noisy = tf.random.stateless_poisson(tf.shape(images), shot_seed, rate, dtype=tf.float32) / photons_at_white
        if isinstance(read_sigma, tuple) or read_sigma > 0:
            std = per_image(read_sigma, images, sigma_seed) / 255.0
            noisy = noisy + tf.random.stateless_normal(tf.shape(images), read_seed) * std
        return tf.clip_by_value(noisy, 0.0, 1.0) if clip else noisy


@hookimpl
def register_corruptions(register: Callable[[object], None]) -> None:
    """Register the ``poisson`` corruption."""
    register(Poisson())
