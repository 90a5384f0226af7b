"""PSNR and SSIM (scikit-image) with the data range of the image's bit depth."""

from __future__ import annotations

from typing import Iterable

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def data_range(array: np.ndarray) -> float:
    """255 for 8-bit, 65535 for 16-bit, 1.0 for float images in [0, 1]."""
    if np.issubdtype(array.dtype, np.integer):
        return float(np.iinfo(array.dtype).max)
    return 1.0


def _prepare(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if reference.shape != test.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, test {test.shape}")
    return reference, test


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB; identical images give ``inf``."""
    reference, test = _prepare(reference, test)
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(reference, test, data_range=data_range(reference)))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM (Gaussian-free 7x7 window, as scikit-image's default), over channels."""
    reference, test = _prepare(reference, test)
    if reference.ndim == 3 and reference.shape[-1] == 1:
        reference, test = reference[..., 0], test[..., 0]
    channel_axis = -1 if reference.ndim == 3 else None
    small = min(reference.shape[:2])
    win = min(7, small if small % 2 else small - 1)  # scikit-image needs an odd window that fits
    return float(
        structural_similarity(
            reference.astype(np.float64), test.astype(np.float64),
            data_range=data_range(reference), channel_axis=channel_axis, win_size=win,
        )
    )


def mean(values: Iterable[float]) -> float | None:
    """Mean of the finite values (identical images score inf PSNR), or None if there are none."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None
