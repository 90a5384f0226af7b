"""Noisy and clean test stacks: 96x96 crops of scikit-image's camera (a validation image the
bundled models never trained on) with seeded Gaussian noise of sigma 25 on the 0-255 scale."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

SIDE = 96
SIGMA = 25 / 255


def camera_planes(count: int, side: int = SIDE) -> np.ndarray:
    """``count`` different crops of the camera image, float64 (count, side, side) in [0, 1]."""
    from skimage import data

    camera = data.camera().astype(np.float64) / 255.0
    return np.stack([camera[100 + 60 * k:100 + 60 * k + side, 150:150 + side] for k in range(count)])


def noisy_version(clean: np.ndarray, seed: int = 0, sigma: float = SIGMA) -> np.ndarray:
    """``clean`` plus Gaussian noise, clipped to [0, 1] as a sensor would."""
    rng = np.random.default_rng(seed)
    return np.clip(clean + rng.normal(0.0, sigma, clean.shape), 0.0, 1.0)


def as_uint16(unit: np.ndarray) -> np.ndarray:
    return np.rint(unit * 65535).astype(np.uint16)


def page_gains(clean: np.ndarray, noisy: np.ndarray, restored: np.ndarray, data_range: float) -> list[float]:
    """PSNR gain in dB of each restored page over its noisy page (scikit-image, ``data_range`` given)."""
    gains = []
    for truth, before, after in zip(clean, noisy, restored):
        truth = truth.astype(np.float64)
        gains.append(peak_signal_noise_ratio(truth, after.astype(np.float64), data_range=data_range)
                     - peak_signal_noise_ratio(truth, before.astype(np.float64), data_range=data_range))
    return gains
