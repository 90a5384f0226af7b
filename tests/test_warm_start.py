"""A gray model grown into a colour one (train --init GRAY --channels rgb)."""

from __future__ import annotations

import numpy as np
import pytest

from denoisekit.plugin_guard import build_model
from denoisekit.plugins import architecture
from denoisekit.training.warm_start import WarmStartError, grow_channels


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
