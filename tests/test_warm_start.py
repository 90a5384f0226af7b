"""A gray model grown into a colour one (train --init GRAY --channels rgb)."""

from __future__ import annotations

import numpy as np
import pytest

from denoisekit.modelio import attach_metadata
from denoisekit.plugin_guard import build_model
from denoisekit.plugins import architecture
from denoisekit.training.warm_start import WarmStartError, add_channels, grow_channels


@pytest.mark.parametrize("arch, params", [("unet", {"features": 4, "levels": 2, "head": "residual"}),
                                          ("dncnn", {"features": 8, "depth": 3})])
def test_grown_model_restores_a_gray_image_in_colour_as_the_gray_model_does(arch, params):
    plugin = architecture(arch).obj
    gray = build_model(plugin, 1, **params)
    rng = np.random.default_rng(0)
    gray.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in gray.get_weights()])
    colour = build_model(plugin, 3, **params)
    assert grow_channels(gray, colour, 3) == 2  # only the first and the last layer change shape
    image = rng.random((1, 32, 32, 1)).astype("float32")
    expected = gray.predict(image, verbose=0)
    # Every channel of a gray picture in colour: the mean the first layer reads is the picture
    # itself, and the last layer writes the gray result to each channel.
    got = colour.predict(np.repeat(image, 3, axis=-1), verbose=0)
    for channel in range(3):
        np.testing.assert_allclose(got[..., channel], expected[..., 0], atol=1e-5)
    # The inner layers are the gray model's own weights.
    inner = {l.name: l for l in gray.layers if l.weights}
    same = [l for l in colour.layers if l.weights and [w.shape for w in l.get_weights()] ==
            [w.shape for w in inner[l.name].get_weights()]]
    assert same and all(np.array_equal(a, b) for l in same
                        for a, b in zip(l.get_weights(), inner[l.name].get_weights()))


def test_models_of_other_shapes_do_not_grow():
    plugin = architecture("unet").obj
    gray = build_model(plugin, 1, features=4, levels=2, head="residual")
    wider = build_model(plugin, 3, features=8, levels=2, head="residual")
    with pytest.raises(WarmStartError, match="cannot grow"):
        grow_channels(gray, wider, 3)


@pytest.mark.parametrize("bias", [False, True])
def test_a_wider_lowest_level_starts_out_as_the_model_it_grew_from(bias):
    plugin = architecture("unet").obj
    small = build_model(plugin, 1, features=4, levels=3, head="residual", bias=bias)
    rng = np.random.default_rng(1)
    small.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in small.get_weights()])
    small = attach_metadata(small, {"arch": "unet"})  # as a saved model is: with its metadata layer
    wide = build_model(plugin, 1, features=4, levels=3, head="residual", bias=bias, bottom=24)
    assert wide.get_layer("enc2a").get_weights()[0].shape[-1] == 24  # 16 by the doubling
    # down2 and enc2a/enc2b gain channels, enc2a/enc2b/up1 read the new ones.
    assert add_channels(small, wide) == 4
    image = rng.random((2, 32, 40, 1)).astype("float32")
    np.testing.assert_allclose(wide.predict(image, verbose=0), small.predict(image, verbose=0), atol=1e-5)
    # The new channels compute something (their incoming weights are the new model's random
    # start), so training has a gradient for the zero weights that read them.
    new_filters = wide.get_layer("enc2a").get_weights()[0][..., 16:]
    assert np.abs(new_filters[..., :16, :]).sum() > 0 and not np.abs(new_filters[..., 16:, :]).sum()
    assert not np.abs(wide.get_layer("up1").get_weights()[0][..., 16:]).sum()  # transposed: (..., out, in)
    with pytest.raises(WarmStartError, match="cannot become"):
        add_channels(wide, small)  # channels are only ever added
