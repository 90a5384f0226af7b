"""The salt-and-pepper U-Net's impulse prefill: the fill, the model that corrects it, and
fine-tuning a model without it into one with it (train --init MODEL -a prefill=impulse)."""

from __future__ import annotations

import numpy as np
import pytest
from clean_fixtures import with_impulses

from denoisekit.layers import ImpulseFill
from denoisekit.plugin_guard import build_model
from denoisekit.plugins import architecture
from denoisekit.training.warm_start import WarmStartError, add_channels


def ramp(height: int = 40, width: int = 48, channels: int = 1) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    plane = 0.2 + 0.6 * (0.5 * y / height + 0.5 * x / width)
    return np.repeat(plane[..., None], channels, axis=-1)


@pytest.mark.parametrize("amount", [0.1, 0.5])
def test_the_fill_keeps_clean_pixels_and_fills_impulses_from_their_neighbours(amount):
    clean = ramp()
    noisy, hit = with_impulses(clean, amount)
    filled, mask = (np.asarray(t)[0] for t in ImpulseFill()(noisy[None]))
    np.testing.assert_array_equal(mask[..., 0] == 1.0, hit)
    np.testing.assert_array_equal(filled[~hit], noisy[~hit])
    # A smooth ramp is filled nearly exactly (a weighted mean of neighbours on a plane);
    # the impulses themselves were 0 or 1, far from it.
    assert np.abs(filled[hit] - clean[hit]).max() < 0.03
    assert np.abs(noisy[hit] - clean[hit]).min() > 0.15


def test_an_impulse_is_black_or_white_in_every_channel():
    image = ramp(channels=3)
    image[5, 5] = [1.0, 0.0, 0.0]  # a saturated red: a clean pixel
    image[9, 9] = [1.0, 1.0, 1.0]  # salt
    image[12, 20] = [0.0, 0.0, 0.0]  # pepper
    filled, mask = (np.asarray(t)[0] for t in ImpulseFill()(image[None]))
    assert sorted(zip(*np.nonzero(mask[..., 0]))) == [(9, 9), (12, 20)]
    np.testing.assert_array_equal(filled[5, 5], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(filled[9, 9], ramp(channels=3)[9, 9], atol=0.01)


def test_impulses_out_of_the_fills_reach_keep_their_value():
    image = np.ones((1, 20, 20, 1), np.float32)  # nothing but salt
    filled, mask = ImpulseFill()(image)
    np.testing.assert_array_equal(np.asarray(filled), image)
    assert np.asarray(mask).all()


def residual(model, image: np.ndarray) -> np.ndarray:
    """The body's predicted noise, before the prefill model keeps it to the impulses."""
    import keras

    body = keras.Model(model.inputs, model.get_layer("depth_to_space").output)
    return np.asarray(body(image))


def test_a_prefill_model_grown_from_one_without_starts_as_it_on_clean_images():
    plugin = architecture("unet").obj
    plain = build_model(plugin, 1, features=4, levels=2, bias=True)
    rng = np.random.default_rng(0)
    plain.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in plain.get_weights()])
    prefill = build_model(plugin, 1, features=4, levels=2, bias=True, prefill="impulse")
    assert add_channels(plain, prefill) == 1  # only the first convolution reads the mask too
    image = rng.uniform(0.05, 0.95, (1, 32, 32, 1)).astype("float32")  # no impulses: the fill changes nothing
    np.testing.assert_allclose(residual(prefill, image), residual(plain, image), atol=1e-5)
    # With impulses it corrects the fill, not the impulses: its input is already near the image.
    noisy, hit = with_impulses(ramp(32, 32), 0.3)
    base = np.asarray(ImpulseFill()(noisy[None])[0])
    assert np.abs(prefill.predict(noisy[None], verbose=0) - base)[0][hit].max() < np.abs(
        plain.predict(noisy[None], verbose=0) - base)[0][hit].max()
    with pytest.raises(WarmStartError, match="cannot become"):  # a prefill model may only gain inputs
        add_channels(plain, build_model(plugin, 1, features=8, levels=2, bias=True, prefill="impulse"))
    wider = build_model(plugin, 1, features=8, levels=2, bias=True)
    with pytest.raises(WarmStartError, match="does not start out as"):
        add_channels(plain, wider)  # every level wider: the skip connections' channels would shift


@pytest.mark.parametrize("channels, prefill", [(1, "impulse"), (3, "directed")])
def test_a_prefill_model_changes_only_the_impulses(channels, prefill):
    """As `clean` keeps untouched pixels: training then scores only the pixels inference keeps."""
    model = build_model(architecture("unet").obj, channels, features=4, levels=2, bias=True, prefill=prefill)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in model.get_weights()])
    noisy, hit = with_impulses(ramp(32, 32, channels), 0.2)
    restored = model.predict(noisy[None], verbose=0)[0]
    np.testing.assert_array_equal(restored[~hit], noisy[~hit])
    assert np.abs(restored[hit] - noisy[hit]).mean() > 0.1


def test_the_directed_fill_in_the_graph_is_the_classical_one():
    from denoisekit.impulses import edge_directed_fill, impulse_pixels

    from skimage import data

    clean = np.clip(data.astronaut()[100:196, 150:246].astype(np.float32) / 255, 0.01, 0.99)  # a photograph
    for amount in (0.1, 0.5):
        noisy, _ = with_impulses(clean, amount, seed=5)
        expected = edge_directed_fill(noisy, far=False)
        paired = ~impulse_pixels(expected)  # impulses with no clean pair next to them: the Gaussian fill
        filled = np.asarray(ImpulseFill(pairs=True)(noisy[None])[0])[0]
        np.testing.assert_allclose(filled[paired], expected[paired], atol=1e-5)
        plain = np.asarray(ImpulseFill()(noisy[None])[0])[0]
        assert np.square(filled - clean).mean() < np.square(plain - clean).mean()


def test_prefill_needs_the_residual_head():
    with pytest.raises(ValueError, match="residual head"):
        architecture("unet").obj.build(3, features=4, levels=2, head="chroma", prefill="impulse")
