"""Undoing the bias of clipped Gaussian noise (denoisekit/declip.py)."""

from __future__ import annotations

import numpy as np
import pytest

from denoisekit.declip import clipped_mean, declip, residual_sigma
from denoisekit.noise_level import estimate_sigma

SIGMA = 25 / 255


def clipped_samples(x: np.ndarray, sigma: float, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.normal(0, sigma, (n, *x.shape)), 0, 1)


def test_clipped_mean_is_what_clipped_noise_averages_to_and_the_value_itself_far_from_black_and_white():
    x = np.array([0.0, 0.02, 0.1, 0.5, 0.9, 0.98, 1.0])
    averaged = clipped_samples(x, SIGMA, 200_000).mean(axis=0)
    np.testing.assert_allclose(clipped_mean(x, SIGMA), averaged, atol=1e-3)
    assert clipped_mean(np.array([0.0]), SIGMA)[0] > 0.035  # black looks dark gray: the bias to undo
    np.testing.assert_allclose(clipped_mean(np.array([0.5]), SIGMA), [0.5], atol=1e-9)
    grid = np.linspace(0, 1, 1001)
    assert np.all(np.diff(clipped_mean(grid, SIGMA)) > 0)  # increasing, so it can be inverted


def test_declip_inverts_the_clipped_mean_and_leaves_mid_tones_alone():
    x = np.linspace(0, 1, 257).astype(np.float32)
    np.testing.assert_allclose(declip(clipped_mean(x, SIGMA).astype(np.float32), SIGMA), x, atol=2e-4)
    mid = np.array([0.3, 0.5, 0.7], np.float32)
    np.testing.assert_allclose(declip(mid, SIGMA), mid, atol=1e-4)  # 3 sigma from 0 and 1
    np.testing.assert_array_equal(declip(np.array([-0.1, 0.4, 1.2], np.float32), 0.0),
                                  np.array([0.0, 0.4, 1.0], np.float32))


def test_an_ideal_restoration_of_a_saturated_colour_comes_back_unbiased():
    # A flat saturated red: the best a denoiser can do from clipped noise is the clipped mean,
    # biased towards mid-gray in the channels at 0 and 1; declipping recovers the colour.
    red = np.array([0.97, 0.03, 0.0])
    mean = clipped_samples(red, SIGMA, 100_000).mean(axis=0).astype(np.float32)
    assert np.abs(mean - red).max() > 0.03
    np.testing.assert_allclose(declip(mean, SIGMA), red, atol=4e-3)


def test_smoothing_the_correction_keeps_a_restorations_small_errors_small_near_black():
    # A dark blue channel (a yellow flower's): the inverse of the clipped mean is steep near 0, so
    # a restoration a little off there is declipped much further off; the correction itself is
    # smooth (a function of the true value), so smoothing it averages those errors away.
    from denoisekit.declip import CORRECTION_SMOOTHING

    x = np.full((64, 64, 1), 0.02, np.float32)
    x[:, 32:] = 0.5  # and a mid tone beside it, left alone
    error = np.random.default_rng(3).normal(0, 0.004, x.shape).astype(np.float32)  # off by a little
    estimate = clipped_mean(x, SIGMA).astype(np.float32) + error
    plain, smoothed = declip(estimate, SIGMA), declip(estimate, SIGMA, CORRECTION_SMOOTHING)
    dark = (slice(None), slice(0, 24))
    own = np.abs(error[dark]).mean()
    assert np.abs(plain - x)[dark].mean() > 1.5 * own  # the steep inverse amplified it
    assert np.abs(smoothed - x)[dark].mean() < 1.15 * own  # smoothed: about the restoration's own error
    np.testing.assert_allclose(smoothed[:, 40:], estimate[:, 40:], atol=1e-4)  # mid tones: no correction
    exact = clipped_mean(x, SIGMA).astype(np.float32)  # an exact estimate still comes back exact, away from the edge
    np.testing.assert_allclose(declip(exact, SIGMA, CORRECTION_SMOOTHING)[:, :24], x[:, :24], atol=2e-4)


@pytest.mark.slow
def test_residual_sigma_measures_noise_where_it_was_not_clipped():
    # A saturated image: half its pixels at 0.02 or 0.98, where the wavelet estimate sees
    # clipped, smaller noise; what a restoration removed, away from 0 and 1, is the true level.
    rng = np.random.default_rng(1)
    blocks = np.where(rng.random((16, 16, 3)) < 0.5, 0.02, 0.5)
    blocks[:, :8] = np.where(blocks[:, :8] == 0.02, 0.98, 0.5)
    clean = np.kron(blocks, np.ones((16, 16, 1))).astype(np.float32)  # flat 16 x 16 patches
    noisy = np.clip(clean + rng.normal(0, SIGMA, clean.shape), 0, 1).astype(np.float32)
    assert residual_sigma(noisy, clean) == pytest.approx(SIGMA, rel=0.03)
    assert estimate_sigma(noisy) / 255 < 0.9 * SIGMA
    flat_black = np.zeros((64, 64, 3), np.float32)  # nothing inside (0.15, 0.85): the wavelet estimate
    assert residual_sigma(flat_black, flat_black) == 0.0
