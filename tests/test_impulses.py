"""Classical salt-and-pepper fills (denoisekit.impulses): the edge-directed fill, and the mean of it
and the switching median that `clean` blends with its model (restorer impulse-fill)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from clean_fixtures import with_impulses

from denoisekit.impulses import edge_directed_fill, impulse_fill, impulse_pixels, switching_median
from denoisekit.plugins import corruption, restorer
from denoisekit.reports.scores import psnr


def test_impulses_on_smooth_shading_are_interpolated_exactly():
    y, x = np.mgrid[0:48, 0:48].astype(np.float32)
    ramp = (0.1 + 0.8 * (0.3 * y + 0.7 * x) / 48)[..., None]  # a plane: each pair's mean is the pixel between
    noisy, _ = with_impulses(ramp, 0.3, seed=3)
    hit = impulse_pixels(noisy)
    directed = edge_directed_fill(noisy)
    resolved = hit & ~impulse_pixels(directed)
    assert resolved.sum() > 0.95 * hit.sum()
    np.testing.assert_allclose(directed[resolved], ramp[resolved], atol=1e-5)
    # The median of the clean neighbours is off wherever they are not symmetric about the pixel.
    assert np.abs(switching_median(noisy) - ramp)[hit].mean() > 0.003


def test_untouched_pixels_stay_and_impulses_without_clean_pairs_fall_back_to_the_median():
    image = np.full((8, 8, 3), 0.5, np.float32)
    image[:2] = 1.0  # two rows of salt: every pair straddling them has an impulse or the border in it
    image[5, 2] = 0.0  # an isolated pepper
    image[5, 5] = (1.0, 0.0, 0.0)  # saturated red: a clean pixel
    clean = ~impulse_pixels(image)
    directed = edge_directed_fill(image)
    np.testing.assert_array_equal(directed[clean], image[clean])
    np.testing.assert_array_equal(directed[:2], image[:2])  # no clean pair: kept as they were
    np.testing.assert_allclose(directed[5, 2], 0.5, atol=1e-6)
    filled = impulse_fill(image)
    np.testing.assert_array_equal(filled[clean], image[clean])
    np.testing.assert_array_equal(filled[:2], switching_median(image)[:2])
    assert filled[5, 5].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("amount", [0.1, 0.3, 0.5])
def test_the_fill_clean_uses_beats_the_switching_median_on_a_photograph(amount):
    from skimage import data

    clean = data.camera()[100:228, 150:278, None].astype(np.float32) / 255.0
    clean = np.clip(clean, 1 / 255, 254 / 255)  # no pixel of the photograph itself pure black or white
    noisy, _ = with_impulses(clean, amount, seed=1)
    filled = impulse_fill(noisy)
    np.testing.assert_array_equal(filled[~impulse_pixels(noisy)], noisy[~impulse_pixels(noisy)])
    assert psnr(clean, filled) > psnr(clean, switching_median(noisy)) + 0.3
    assert psnr(clean, filled) > psnr(clean, edge_directed_fill(noisy))


def test_salt_and_pepper_fills_with_it_and_the_restorer_offers_it():
    noisy, _ = with_impulses(cv2.GaussianBlur(np.random.default_rng(2).random((40, 40, 3)).astype(np.float32),
                                           (0, 0), 2), 0.3)
    expected = impulse_fill(noisy)
    np.testing.assert_array_equal(corruption("salt-and-pepper").obj.fill(noisy), expected)
    np.testing.assert_array_equal(restorer("impulse-fill").obj.make()(noisy), expected)
