"""Per-image figures: PSNR/SSIM against a reference and the estimated noise level,
computed in strips of rows so that a 24-megapixel image needs little memory."""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage.metrics import structural_similarity

from ..images import to_gray, to_rgb
from ..noise_level import estimate_sigma

#: Rows per strip: float64 temporaries of a 6000-pixel-wide strip stay near 100 MB.
STRIP_ROWS = 256


def match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Gray <-> RGB so an image can be compared with a reference of ``channels`` channels."""
    if pixels.shape[-1] == channels:
        return pixels
    return to_rgb(pixels) if channels == 3 else to_gray(pixels)


def psnr(reference: np.ndarray, test: np.ndarray, rows: int = STRIP_ROWS) -> float:
    """PSNR in dB of float images in [0, 1] (``inf`` when identical); as ``denoisekit.metrics.psnr``."""
    squared = sum(
        float(np.square(reference[r:r + rows].astype(np.float64) - test[r:r + rows]).sum())
        for r in range(0, reference.shape[0], rows)
    )
    mse = squared / reference.size
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, rows: int = STRIP_ROWS) -> float:
    """Mean SSIM of float (H, W, C) images in [0, 1], as ``denoisekit.metrics.ssim`` (7x7
    uniform window, border of 3 ignored, mean over channels), one strip of rows at a time."""
    height, width, channels = reference.shape
    small = min(height, width)
    win = min(7, small if small % 2 else small - 1)
    pad = (win - 1) // 2
    total, count = 0.0, 0
    for top in range(pad, height - pad, rows):
        bottom = min(top + rows, height - pad)
        for c in range(channels):
            _, local = structural_similarity(
                reference[top - pad:bottom + pad, :, c].astype(np.float64),
                test[top - pad:bottom + pad, :, c].astype(np.float64),
                data_range=1.0, win_size=win, full=True,
            )
            kept = local[pad:pad + bottom - top, pad:width - pad]
            total += float(kept.sum(dtype=np.float64))
            count += kept.size
    return total / count


def compare(reference: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM of ``test`` against ``reference`` (gray/RGB matched to the reference)."""
    if reference.shape[:2] != test.shape[:2]:
        raise ValueError(f"size {test.shape[1]}x{test.shape[0]} differs from the reference's "
                         f"{reference.shape[1]}x{reference.shape[0]}")
    test = match_channels(test, reference.shape[-1])
    return {"psnr": psnr(reference, test), "ssim": ssim(reference, test)}


def figures(noisy: np.ndarray, restored: np.ndarray, reference: np.ndarray | None) -> dict[str, Any]:
    """``{"input": {...}, "output": {...}}``: noise sigma (0-255), and PSNR/SSIM when a reference is given."""
    result = {"input": {"sigma": estimate_sigma(noisy)}, "output": {"sigma": estimate_sigma(restored)}}
    if reference is not None:
        result["input"].update(compare(reference, noisy))
        result["output"].update(compare(reference, restored))
    return result
