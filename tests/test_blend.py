"""Noise-adaptive residual blend: what a model removed is partly given back, less the noisier the image."""

from __future__ import annotations

import numpy as np

from clean_fixtures import add_noise, clean_models, smooth_images  # noqa: F401
from denoisekit.blend import blend_residual, blend_share, fit_blend_gain
from denoisekit.noise_level import estimate_sigma


def test_the_share_given_back_falls_with_the_noise_level_and_a_clean_image_comes_back_whole():
    clean = smooth_images(1, 96, 96, seed=3)[0]
    shares = [blend_share(add_noise(clean, seed=4, sigma=s / 255), gain=2.0) for s in (5, 15, 50)]
    assert 1.0 > shares[0] > shares[1] > shares[2] > 0
    assert abs(shares[1] - 2.0 / estimate_sigma(add_noise(clean, seed=4, sigma=15 / 255))) < 1e-9

    flat = np.full((64, 64, 1), 0.5, np.float32)  # no noise at all: everything removed was detail
    restored = np.full_like(flat, 0.4)
    np.testing.assert_array_equal(blend_residual(flat, restored.copy(), gain=1.0), flat)
    np.testing.assert_array_equal(blend_residual(flat, restored.copy(), gain=0.0), restored)


def test_the_fitted_gain_is_the_one_that_made_the_clean_images():
    # Clean images built as restored + (gain / sigma) (noisy - restored): the fit must find gain.
    triples = []
    for seed, sigma in ((5, 10), (6, 30)):
        noisy = add_noise(smooth_images(1, 80, 80, seed=seed)[0], seed=seed, sigma=sigma / 255)
        restored = noisy * 0.5 + 0.25
        clean = restored + (1.5 / estimate_sigma(noisy)) * (noisy - restored)
        triples.append((noisy, restored, clean))
    assert abs(fit_blend_gain(triples) - 1.5) < 1e-6
    # Where giving back only adds error, the gain is 0, not negative.
    assert fit_blend_gain([(n, r, r - (n - r)) for n, r, _ in triples]) == 0.0


def test_model_restorer_blends_by_the_gain_in_the_model_metadata(clean_models, tmp_path):
    from denoisekit.modelio import load_keras_model, update_metadata
    from denoisekit.plugins import restorer

    model = load_keras_model(clean_models.gray)
    update_metadata(model, blend_gain=3.0)
    calibrated = tmp_path / "calibrated.keras"
    model.save(calibrated)
    noisy = add_noise(smooth_images(1, 64, 64, seed=7), seed=8)[0]
    make = restorer("model").obj.make
    plain = make(model=str(calibrated), blend=False)(noisy)
    blended = make(model=str(calibrated))(noisy)
    np.testing.assert_allclose(blended, blend_residual(noisy, plain.copy(), 3.0), atol=1e-6)
    assert not np.allclose(blended, plain)
    # A model without a gain (the fixture's own file) is not blended.
    np.testing.assert_array_equal(make(model=str(clean_models.gray))(noisy),
                                  make(model=str(clean_models.gray), blend=False)(noisy))
