"""Noise-adaptive residual blend: give back a share of the removed residual, less the noisier the image.

A blind denoiser trained over a range of noise levels cannot tell fine texture from weak
noise and removes some of both, most visibly at low noise. Adding back a share of what it
removed, ``out + alpha (noisy - out)`` with ``alpha = min(1, gain / sigma)`` for the image's
estimated noise level ``sigma`` (0-255 units), undoes that over-smoothing: on the bundled
gray model's validation images the least-squares ``alpha`` fell as about 1.8 / sigma from
sigma 5 to 50, so one ``gain`` per model serves every level, and a clean input (sigma near
0) comes back as it was. The gain is fitted by least squares on a model's validation pairs
(``fit_blend_gain``) and stored in its metadata.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .noise_level import estimate_sigma

#: Below this estimated sigma (0-255) the estimate is mostly image texture: the blend
#: saturates at alpha = 1 there anyway (any gain >= this returns the input).
MIN_SIGMA = 0.5


def blend_share(noisy: np.ndarray, gain: float) -> float:
    """The share ``alpha`` of the residual given back for ``noisy`` (H, W, C) in [0, 1]."""
    if gain <= 0:
        return 0.0
    return min(1.0, gain / max(estimate_sigma(noisy), MIN_SIGMA))


def blend_residual(noisy: np.ndarray, restored: np.ndarray, gain: float) -> np.ndarray:
    """``restored + alpha (noisy - restored)`` (in place), ``alpha`` from ``blend_share``."""
    alpha = blend_share(noisy, gain)
    if alpha > 0:
        restored += np.float32(alpha) * (noisy - restored)
    return restored


def fit_blend_gain(triples: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """Least-squares gain over (noisy, restored, clean) images; 0 when giving back does not help.

    Minimises the total squared error of ``restored + (gain / sigma) (noisy - restored)``
    over the images (each image's ``sigma`` estimated from its noisy version).
    """
    num = den = 0.0
    for noisy, restored, clean in triples:
        residual = (noisy.astype(np.float64) - restored) / max(estimate_sigma(noisy), MIN_SIGMA)
        num += float(np.sum((clean - restored) * residual))
        den += float(np.sum(residual * residual))
    return max(0.0, num / den) if den > 0 else 0.0
