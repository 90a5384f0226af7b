"""PSNR/SSIM agree with scikit-image at the bit depth's data range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from denoisekit.metrics import data_range, mean, psnr, ssim


def noisy_pair(synthetic, dtype, channels, sigma_fraction=0.05, seed=0):
    clean = synthetic(48, 56, channels, dtype, seed=seed, low=0.1, high=0.9)
    top = np.iinfo(dtype).max
    rng = np.random.default_rng(seed + 100)
    noisy = clean.astype(np.float64) + rng.normal(0, sigma_fraction * top, clean.shape)
    return clean, np.clip(np.rint(noisy), 0, top).astype(dtype)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("channels", [1, 3])
def test_integer_images_agree_with_scikit_image(synthetic, dtype, top, channels):
    clean, noisy = noisy_pair(synthetic, dtype, channels)
    assert data_range(clean) == top

    expected_psnr = peak_signal_noise_ratio(clean, noisy, data_range=top)
    assert psnr(clean, noisy) == pytest.approx(expected_psnr, rel=1e-9)
    assert 20 < psnr(clean, noisy) < 35  # ~26 dB for noise of 5% of the range

    if channels == 1:
        expected_ssim = structural_similarity(clean[..., 0].astype(np.float64), noisy[..., 0].astype(np.float64),
                                              data_range=top)
    else:
        expected_ssim = structural_similarity(clean.astype(np.float64), noisy.astype(np.float64),
                                              data_range=top, channel_axis=-1)
    assert ssim(clean, noisy) == pytest.approx(expected_ssim, rel=1e-9)
    assert 0.0 < ssim(clean, noisy) < 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_float_representation_gives_the_same_scores(synthetic, dtype):
    """Images as read by denoisekit (float32 in [0, 1]) score like their integer files."""
    clean, noisy = noisy_pair(synthetic, dtype, 3, seed=4)
    top = np.iinfo(dtype).max
    clean_f, noisy_f = (a.astype(np.float32) / top for a in (clean, noisy))
    assert data_range(clean_f) == 1.0
    assert psnr(clean_f, noisy_f) == pytest.approx(peak_signal_noise_ratio(clean_f, noisy_f, data_range=1.0), rel=1e-6)
    assert psnr(clean_f, noisy_f) == pytest.approx(psnr(clean, noisy), abs=1e-3)
    assert ssim(clean_f, noisy_f) == pytest.approx(
        structural_similarity(clean_f.astype(np.float64), noisy_f.astype(np.float64), data_range=1.0, channel_axis=-1),
        rel=1e-9,
    )
    assert ssim(clean_f, noisy_f) == pytest.approx(ssim(clean, noisy), abs=1e-5)


def test_more_noise_scores_lower(synthetic):
    clean, light = noisy_pair(synthetic, np.uint8, 3, sigma_fraction=0.02)
    _, heavy = noisy_pair(synthetic, np.uint8, 3, sigma_fraction=0.2)
    assert psnr(clean, light) > psnr(clean, heavy) + 10
    assert ssim(clean, light) > ssim(clean, heavy)


def test_identical_images_give_infinite_psnr_and_ssim_one(synthetic):
    image = synthetic(20, 20, 3, np.uint8)
    assert psnr(image, image.copy()) == math.inf
    assert ssim(image, image.copy()) == pytest.approx(1.0)


def test_small_images_still_get_an_ssim(synthetic):
    clean, noisy = noisy_pair(synthetic, np.uint8, 1)
    small_clean, small_noisy = clean[:6, :5], noisy[:6, :5]  # smaller than the 7x7 window
    value = ssim(small_clean, small_noisy)
    assert -1.0 <= value <= 1.0 and not math.isnan(value)
    # Under 3 pixels a side no window fits (scikit-image divided by zero): the image is the window.
    for rows, cols in ((1, 1), (2, 5), (9, 2)):
        tiny_clean, tiny_noisy = clean[:rows, :cols], noisy[:rows, :cols]
        assert ssim(tiny_clean, tiny_clean.copy()) == pytest.approx(1.0)
        assert -1.0 <= ssim(tiny_clean, tiny_noisy) < 1.0
    assert ssim(clean[:2, :5], 255 - clean[:2, :5]) < 0  # inverted: anti-correlated


def test_mean_ignores_infinite_and_missing_values():
    assert mean([30.0, math.inf, 40.0]) == pytest.approx(35.0)
    assert mean([math.inf, None]) is None
    assert mean([]) is None
    assert mean(v for v in (0.5, 0.7)) == pytest.approx(0.6)


@pytest.mark.parametrize("other_shape", [(20, 21, 3), (20, 20, 1), (21, 20, 3)])
def test_mismatched_shapes_raise(other_shape):
    reference = np.zeros((20, 20, 3), np.uint8)
    other = np.zeros(other_shape, np.uint8)
    with pytest.raises(ValueError, match="shape"):
        psnr(reference, other)
    with pytest.raises(ValueError, match="shape"):
        ssim(reference, other)
