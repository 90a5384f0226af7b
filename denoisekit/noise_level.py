"""Blind estimate of an image's Gaussian noise level, on the 0-255 scale."""

from __future__ import annotations

import warnings

import numpy as np

from .images import center_crop

#: The estimate uses a centre crop of at most this side: noise is stationary, and
#: a 24-megapixel image would otherwise need gigabytes of float64 wavelet planes.
MAX_SIDE = 1024


def estimate_sigma(pixels: np.ndarray, max_side: int = MAX_SIDE) -> float:
    """Noise standard deviation of a float image (H, W, C) in [0, 1], in 0-255 units
    (wavelet-based, scikit-image's ``estimate_sigma``, averaged over the channels that vary; 0
    for a flat image)."""
    from skimage.restoration import estimate_sigma as _estimate

    crop = center_crop(pixels, max_side).astype(np.float64)
    if crop.shape[0] < 2 or crop.shape[1] < 2:
        return 0.0
    with warnings.catch_warnings():
        # It passes each channel on as 2-D and then takes a width of 3 for colour channels.
        warnings.filterwarnings("ignore", message=".*channel_axis is None", category=UserWarning)
        # A flat channel has no nonzero detail coefficient: numpy warns of the empty median's NaN.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        sigmas = np.atleast_1d(_estimate(crop, channel_axis=-1, average_sigmas=False))
    measured = sigmas[np.isfinite(sigmas)]  # the channels that vary (a saturated colour's 0 does not)
    return float(measured.mean()) * 255.0 if measured.size else 0.0  # flat: no noise to measure
