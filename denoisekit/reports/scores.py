"""Per-image figures: PSNR/SSIM against a reference (``denoisekit.metrics``, computed in
strips of rows so that a 24-megapixel image needs little memory) and the estimated noise level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..images import read_image, to_gray, to_rgb
from ..metrics import mean, psnr, ssim
from ..noise_level import estimate_sigma
from ..stacks import TiffStack, is_stack
from .stack_scores import compare_stacks

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


def score_files(ref_path: Path, test_path: Path) -> dict[str, float]:
    """PSNR/SSIM of one test image file against its reference (alpha ignored; a gray one and an
    RGB one compared in the reference's channels, as ``clean --reference`` does); of TIFF stacks,
    the means over their pages (each page on the data's range: docs/scientific.md)."""
    if is_stack(ref_path) or is_stack(test_path):
        with TiffStack(ref_path) as ref_stack, TiffStack(test_path) as test_stack:
            pages = compare_stacks(ref_stack, test_stack)
        psnr_mean = mean(p["psnr"] for p in pages)  # None: every page identical to its reference
        return {"psnr": float("inf") if psnr_mean is None else psnr_mean, "ssim": mean(p["ssim"] for p in pages)}
    ref, test = read_image(ref_path), read_image(test_path)
    try:
        return compare(ref.pixels, test.pixels)  # gray and RGB matched to the reference, as clean --reference does
    except ValueError as err:
        raise ValueError(f"{test_path}: {err}") from None
