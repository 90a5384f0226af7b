"""PSNR and SSIM (scikit-image) with the data range of the image's bit depth, or one given."""

from __future__ import annotations

from typing import Iterable

import numpy as np
from skimage.metrics import structural_similarity


def data_range(array: np.ndarray) -> float:
    """255 for 8-bit, 65535 for 16-bit, 1.0 for float images in [0, 1]."""
    if np.issubdtype(array.dtype, np.integer):
        return float(np.iinfo(array.dtype).max)
    return 1.0


_dtype_range = data_range  # psnr's and ssim's parameter of the same name hides it there


def _prepare(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if reference.shape != test.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, test {test.shape}")
    return reference, test


#: Rows per strip: float64 temporaries of a 6000-pixel-wide strip stay near 100 MB, so
#: a 24-megapixel image is scored in bounded memory.
STRIP_ROWS = 256


def psnr(reference: np.ndarray, test: np.ndarray, rows: int = STRIP_ROWS, data_range: float | None = None) -> float:
    """PSNR in dB (as scikit-image's), computed in strips of rows; identical images give ``inf``.
    ``data_range``: scikit-image's, the span of possible values (default: by the reference's dtype)."""
    reference, test = _prepare(reference, test)
    squared = sum(
        float(np.square(reference[r:r + rows].astype(np.float64) - test[r:r + rows]).sum())
        for r in range(0, reference.shape[0], rows)
    )
    mse = squared / reference.size
    span = _dtype_range(reference) if data_range is None else data_range
    return float("inf") if mse == 0 else float(10.0 * np.log10(span ** 2 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, rows: int = STRIP_ROWS, data_range: float | None = None) -> float:
    """Mean SSIM as scikit-image's default (7x7 uniform window, border of 3 ignored, mean over
    channels), computed one strip of rows at a time; ``data_range`` as for ``psnr``. An image
    under 3 pixels a side is one window."""
    reference, test = _prepare(reference, test)
    if reference.ndim == 2:
        reference, test = reference[..., None], test[..., None]
    height, width, channels = reference.shape
    small = min(height, width)
    span = _dtype_range(reference) if data_range is None else data_range
    if small < 3:  # no 3x3 window fits (scikit-image divides by zero): the image is the one window
        return _ssim_one_window(reference, test, span)
    win = min(7, small if small % 2 else small - 1)  # scikit-image needs an odd window that fits
    pad = (win - 1) // 2
    total, count = 0.0, 0
    for top in range(pad, height - pad, rows):
        bottom = min(top + rows, height - pad)
        for c in range(channels):
            _, local = structural_similarity(
                reference[top - pad:bottom + pad, :, c].astype(np.float64),
                test[top - pad:bottom + pad, :, c].astype(np.float64),
                data_range=span, win_size=win, full=True,
            )
            kept = local[pad:pad + bottom - top, pad:width - pad]
            total += float(kept.sum(dtype=np.float64))
            count += kept.size
    return total / count


def _ssim_one_window(reference: np.ndarray, test: np.ndarray, span: float) -> float:
    """SSIM with the whole (H, W, C) image as its window, per channel, averaged: scikit-image's
    constants, the image's own means and (population) variances."""
    c1, c2 = (0.01 * span) ** 2, (0.03 * span) ** 2
    x = reference.reshape(-1, reference.shape[2]).astype(np.float64)
    y = test.reshape(-1, test.shape[2]).astype(np.float64)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    vx, vy, cov = x.var(axis=0), y.var(axis=0), ((x - mx) * (y - my)).mean(axis=0)
    return float(np.mean((2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))))


def mean(values: Iterable[float]) -> float | None:
    """Mean of the finite values (identical images score inf PSNR), or None if there are none."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None
