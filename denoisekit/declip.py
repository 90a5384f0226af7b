"""Undo the bias that clipping at 0 and 1 gives Gaussian noise (Foi, "Clipped noisy images:
heteroskedastic modeling and practical denoising", Signal Processing 2009).

An 8-bit file stores ``clip(x + n, 0, 1)``: near black and white the noise is cut on one side,
so the noisy values' mean is pulled towards mid-gray. A gray model restoring each RGB channel
learned that from clipped gray images; in the opponent colour space (``opponent.py``) a
saturated colour (one channel near 0 or 1) mixes the channels' biases into values the model
never saw, and on saturated photographs that route lost 1.7 dB to clipping alone. Restored
there, the result estimates the clipped mean ``E[clip(x + n)]`` per RGB channel; inverting
that known function of ``x`` (``clipped_mean``) gives ``x`` back.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .images import center_crop
from .noise_level import MAX_SIDE, estimate_sigma

#: Entries of the table ``declip`` looks values up in (linear interpolation between them).
TABLE_POINTS = 4096
#: Restored values this far inside (0, 1) have unclipped noise up to sigma 0.3 (76 in 8 bits)
#: at 2 sigma, and still leave most pixels of a saturated photograph to measure the noise on.
UNCLIPPED = (0.15, 0.85)


def clipped_mean(x: np.ndarray, sigma: float) -> np.ndarray:
    """``E[clip(x + n, 0, 1)]`` for ``n ~ N(0, sigma^2)``: increasing in ``x``, equal to it far
    from 0 and 1."""
    a, b = -x / sigma, (1.0 - x) / sigma
    pdf = lambda t: np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)  # noqa: E731
    return x * (ndtr(b) - ndtr(a)) + sigma * (pdf(a) - pdf(b)) + (1.0 - ndtr(b))


#: The correction ``declip`` makes is smoothed by a Gaussian of this many pixels: a smooth function
#: of the true value, its inverse is steep near 0 and 1, where it amplifies what the restoration
#: got slightly wrong (a yellow flower's blue channel at 0). On the validation crops at sigma 15,
#: 25 and 50 smoothing by 2 px gained 0.06-0.10 dB on both sets (benchmarks/README.md, "The
#: colour route").
CORRECTION_SMOOTHING = 2.0


def smoothing_radius(smoothing: float) -> int:
    """How far (pixels) ``declip``'s smoothing reaches: OpenCV's Gaussian kernel for floats, 4 sigma."""
    return int(np.ceil(4 * smoothing)) if smoothing > 0 else 0


def declip(restored: np.ndarray, sigma: float, smoothing: float = 0.0) -> np.ndarray:
    """``restored`` (an estimate of the clipped mean, in [0, 1]) mapped back to the value
    whose clipped mean it is, clipped to [0, 1]; unchanged when ``sigma`` is 0. ``smoothing``:
    the correction blurred by a Gaussian of that many pixels (an (H, W, C) image)."""
    clipped = np.clip(restored, 0.0, 1.0).astype(np.float32)
    if not sigma > 0:  # 0, or nan from a flat image's estimate
        return clipped
    # The inverse tabulated at evenly spaced clipped means, so each value is found by
    # arithmetic, not searched for: linear interpolation between the two nearest entries.
    grid = np.linspace(-3 * sigma, 1 + 3 * sigma, TABLE_POINTS)
    inverse = np.interp(np.linspace(0, 1, TABLE_POINTS), clipped_mean(grid, sigma), grid).astype(np.float32)
    position = clipped * np.float32(TABLE_POINTS - 1)
    index = np.minimum(position.astype(np.int32), TABLE_POINTS - 2)
    position -= index
    out = inverse[index]
    out += position * (inverse[index + 1] - out)
    np.clip(out, 0.0, 1.0, out=out)
    if smoothing > 0:  # the correction itself, smoothed, added to the restoration
        import cv2

        correction = cv2.GaussianBlur(out - clipped, (0, 0), smoothing, borderType=cv2.BORDER_REFLECT)
        clipped += correction.reshape(clipped.shape)  # OpenCV drops a single channel's axis
        return np.clip(clipped, 0.0, 1.0, out=clipped)
    return out


def residual_sigma(noisy: np.ndarray, restored: np.ndarray, max_side: int = MAX_SIDE) -> float:
    """The noise's standard deviation (0-1 scale), from what a restoration removed where its
    values are far enough from 0 and 1 that the noise was not clipped (robust: the median
    absolute deviation), on a centre crop of at most ``max_side``; the wavelet estimate
    (``noise_level``) where too few such pixels are left."""
    noisy, restored = center_crop(noisy, max_side), center_crop(restored, max_side)
    lo, hi = UNCLIPPED
    inside = (restored > lo) & (restored < hi)
    residual = (noisy - restored)[inside]
    if residual.size < 1000:
        sigma = estimate_sigma(noisy) / 255.0
        return sigma if np.isfinite(sigma) else 0.0  # a flat image has no noise to measure
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))
