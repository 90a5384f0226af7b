"""TensorFlow helpers for writing corruptions, and the bridge from numpy arrays to them."""

from __future__ import annotations

import zlib
from typing import Any, Mapping

import numpy as np

from .tf_setup import tensorflow


def per_image(value: float | tuple[float, float], images: Any, seed: Any) -> Any:
    """A (N, 1, 1, 1) float32 tensor: ``value`` for every image, or for a ``(lo, hi)``
    range one uniform draw per image (blind training over a range of levels)."""
    tf = tensorflow()

    batch = tf.shape(images)[0]
    if isinstance(value, tuple):
        lo, hi = (float(v) for v in value)
        return tf.random.stateless_uniform([batch, 1, 1, 1], seed, minval=lo, maxval=hi)
    return tf.fill([batch, 1, 1, 1], tf.constant(float(value), tf.float32))


def split_seed(seed: Any, n: int = 2) -> list[Any]:
    """``n`` independent stateless seeds derived from one."""
    tf = tensorflow()

    return tf.unstack(tf.random.experimental.stateless_split(seed, num=n))


#: Seeds a corruption takes: stateless random ops read 31 bits of it, so a larger or negative
#: seed would give another seed's noise (2**31 the noise of 0).
MAX_SEED = 2**31 - 1


def check_seed(seed: int) -> int:
    """``seed`` as an int, or a ValueError when it is outside 0..MAX_SEED."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed {seed} is outside 0..{MAX_SEED} (a larger seed would repeat a smaller one's noise)")
    return int(seed)


def seed_pair(seed: int, key: str | int = 0) -> np.ndarray:
    """A stateless seed (2,) from a run seed and a per-item key (e.g. a relative path),
    so an image's noise does not depend on the order in which files are processed."""
    if isinstance(key, str):
        key = zlib.crc32(key.encode("utf-8"))
    return np.array([seed & 0x7FFFFFFF, key & 0x7FFFFFFF], dtype=np.int32)


def shape_changed(corruption: Any, got: tuple[int, ...], expected: tuple[int, ...], what: str) -> Exception:
    """The error for a corruption whose result has another (per-item) shape than its input."""
    from .plugins import PluginCallError, describe

    return PluginCallError(f"{describe('corruption', corruption)} returned shape {tuple(got)} for {what} "
                           f"of shape {tuple(expected)} (a corruption must keep the shape)")


def apply_corruption(
    corruption: Any, pixels: np.ndarray, params: Mapping[str, Any], seed: int, key: str | int = 0
) -> np.ndarray:
    """Apply a corruption plugin to a numpy image (H, W, C) or batch (N, H, W, C) in [0, 1].

    A plugin that raises, or returns another shape or non-finite values, gets a
    ``PluginCallError`` naming it and its distribution (``DENOISEKIT_DEBUG=1``: its own
    exception, traceback and all).
    """
    from .plugins import PluginCallError, debugging, describe

    tf = tensorflow()

    batch = pixels if pixels.ndim == 4 else pixels[None]
    try:
        raw = np.asarray(corruption.apply(tf.convert_to_tensor(batch, tf.float32), tf.constant(seed_pair(seed, key)),
                                          **params))
    except Exception as err:
        if debugging():
            raise
        raise PluginCallError(f"{describe('corruption', corruption)} failed: {type(err).__name__}: {err}") from None
    if raw.dtype.kind != "f":
        raise PluginCallError(f"{describe('corruption', corruption)} returned {raw.dtype} values: a corruption "
                              f"returns floats on its input's 0-1 scale")
    out = raw.astype(np.float32, copy=False)
    if out.shape != batch.shape:
        raise shape_changed(corruption, out.shape[1:], batch.shape[1:], "an image")
    if not np.isfinite(out).all():
        raise PluginCallError(f"{describe('corruption', corruption)} returned NaN or infinite values")
    # Values past 1 are fine (unclipped noise; a Poisson count at a low peak is many times 1), but a
    # typical value past OTHER_SCALE_MEDIAN means the 0-255 scale: written, every pixel is white.
    typical = float(np.median(out.ravel()[::MEDIAN_STRIDE]))
    if typical > OTHER_SCALE_MEDIAN:
        raise PluginCallError(f"{describe('corruption', corruption)} returned values of median {typical:g}: a "
                              f"corruption returns its input's 0-1 scale, not 0-255")
    return out if pixels.ndim == 4 else out[0]


#: ``apply_corruption``'s test of the output's scale: the median of every MEDIAN_STRIDE-th value.
OTHER_SCALE_MEDIAN = 3.0
MEDIAN_STRIDE = 17
