"""Per-image figures: PSNR/SSIM against a reference (``denoisekit.metrics``, computed in
strips of rows so that a 24-megapixel image needs little memory) and the estimated noise level."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..images import to_gray, to_rgb
from ..metrics import psnr, ssim
from ..noise_level import estimate_sigma

def match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    """Gray <-> RGB so an image can be compared with a reference of ``channels`` channels."""
    if pixels.shape[-1] == channels:
        return pixels
    return to_rgb(pixels) if channels == 3 else to_gray(pixels)


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
