"""The builtin corruptions: statistics, determinism, shapes, and use inside tf.data."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from denoisekit.noise_ops import apply_corruption, seed_pair
from denoisekit.params import resolve_params
from denoisekit.plugins import BUILTIN_PROVIDER, PluginRegistry
from denoisekit.tf_setup import tensorflow


@functools.cache
def builtins_only() -> PluginRegistry:
    """The builtin plugins, looked up through the hooks (third-party plugins not loaded)."""
    return PluginRegistry(load_entry_points=False)


def builtin(name: str):
    found = builtins_only().get("corruption", name)
    assert found.provider == BUILTIN_PROVIDER
    return found.obj


def defaults(name: str, **texts: str) -> dict:
    """The parsed parameter values, as the command line would pass them."""
    return resolve_params(builtins_only().get("corruption", name).params, texts, name)


def mid_gray(n: int = 1, size: int = 256, channels: int = 1) -> np.ndarray:
    return np.full((n, size, size, channels), 0.5, np.float32)


def test_gaussian_sigma_25_has_std_25_on_the_255_scale():
    clean = mid_gray(size=256)
    noisy = apply_corruption(builtin("gaussian"), clean, defaults("gaussian", sigma="25"), seed=3)
    residual = (noisy - clean) * 255.0
    assert residual.std() == pytest.approx(25.0, abs=1.0)
    assert abs(residual.mean()) < 0.5  # zero-mean noise


def test_gaussian_sigma_0_changes_nothing_and_clip_keeps_range():
    image = np.random.default_rng(0).random((2, 32, 32, 3)).astype(np.float32)
    same = apply_corruption(builtin("gaussian"), image, defaults("gaussian", sigma="0"), seed=1)
    np.testing.assert_allclose(same, image, atol=1e-7)

    strong = apply_corruption(builtin("gaussian"), image, defaults("gaussian", sigma="200"), seed=1)
    assert strong.min() >= 0.0 and strong.max() <= 1.0
    unclipped = apply_corruption(builtin("gaussian"), image, defaults("gaussian", sigma="200", clip="false"), seed=1)
    assert unclipped.min() < 0.0 and unclipped.max() > 1.0


def test_gaussian_range_gives_one_level_per_image_within_the_range():
    lo, hi = 5.0, 50.0
    values = defaults("gaussian", sigma=f"{lo:g}:{hi:g}", clip="false")
    assert values["sigma"] == (lo, hi)
    clean = mid_gray(n=12, size=96)
    noisy = apply_corruption(builtin("gaussian"), clean, values, seed=11)
    stds = ((noisy - clean) * 255.0).reshape(len(clean), -1).std(axis=1)
    # 9216 samples per image: the std estimate is within ~1% of the true level
    assert np.all(stds > lo * 0.97) and np.all(stds < hi * 1.03), stds
    # one level per image: the levels differ far beyond the estimation error
    assert stds.max() - stds.min() > 10.0, stds
    assert len(np.unique(np.round(stds, 1))) == len(stds)


def _impulse_mask(noisy: np.ndarray) -> np.ndarray:
    """Pixels whose every channel is exactly 0 or exactly 1."""
    return np.all(noisy == 0.0, axis=-1) | np.all(noisy == 1.0, axis=-1)


def test_salt_and_pepper_corrupts_the_requested_fraction_with_pure_impulses():
    clean = mid_gray(n=1, size=256, channels=3)
    noisy = apply_corruption(builtin("salt-and-pepper"), clean, defaults("salt-and-pepper", amount="0.1"), seed=5)
    hit = _impulse_mask(noisy)
    assert hit.mean() == pytest.approx(0.1, abs=0.01)
    # every other pixel is untouched, and a hit pixel is hit in all channels
    untouched = ~hit
    np.testing.assert_array_equal(noisy[untouched], clean[untouched])
    assert set(np.unique(noisy)) <= {0.0, 0.5, 1.0}


@pytest.mark.parametrize("ratio", [0.2, 0.8])
def test_salt_and_pepper_respects_salt_vs_pepper(ratio):
    clean = mid_gray(n=1, size=256)
    values = defaults("salt-and-pepper", amount="0.2", salt_vs_pepper=str(ratio))
    noisy = apply_corruption(builtin("salt-and-pepper"), clean, values, seed=8)
    salt, pepper = np.sum(noisy == 1.0), np.sum(noisy == 0.0)
    assert (salt + pepper) / noisy.size == pytest.approx(0.2, abs=0.01)
    assert salt / (salt + pepper) == pytest.approx(ratio, abs=0.03)


def test_salt_and_pepper_amount_range_varies_per_image():
    clean = mid_gray(n=8, size=64)
    values = defaults("salt-and-pepper", amount="0.05:0.5")
    noisy = apply_corruption(builtin("salt-and-pepper"), clean, values, seed=2)
    fractions = _impulse_mask(noisy).reshape(len(clean), -1).mean(axis=1)
    assert np.all(fractions > 0.05 - 0.02) and np.all(fractions < 0.5 + 0.03), fractions
    assert fractions.max() - fractions.min() > 0.1, fractions


def test_grayscale_gives_equal_channels_equal_to_bt601_luma():
    rgb = np.random.default_rng(1).random((3, 16, 20, 3)).astype(np.float32)
    gray = apply_corruption(builtin("grayscale"), rgb, {}, seed=0)
    assert gray.shape == rgb.shape
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(gray[..., 0], luma, atol=1e-6)


def test_grayscale_leaves_gray_images_unchanged():
    one_channel = np.random.default_rng(2).random((2, 16, 16, 1)).astype(np.float32)
    np.testing.assert_array_equal(apply_corruption(builtin("grayscale"), one_channel, {}, seed=0), one_channel)
    already_gray = np.repeat(one_channel, 3, axis=-1)  # RGB with equal channels
    np.testing.assert_allclose(apply_corruption(builtin("grayscale"), already_gray, {}, seed=0), already_gray, atol=1e-6)


@pytest.mark.parametrize("name, texts", [("gaussian", {"sigma": "5:60"}), ("salt-and-pepper", {"amount": "0.05:0.3"})])
def test_same_seed_same_noise_and_different_seed_or_file_different_noise(name, texts):
    image = np.random.default_rng(3).random((24, 24, 3)).astype(np.float32)
    values = defaults(name, **texts)
    first = apply_corruption(builtin(name), image, values, seed=42, key="a/b.png")
    again = apply_corruption(builtin(name), image, values, seed=42, key="a/b.png")
    other_seed = apply_corruption(builtin(name), image, values, seed=43, key="a/b.png")
    other_file = apply_corruption(builtin(name), image, values, seed=42, key="a/c.png")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other_seed)
    assert not np.array_equal(first, other_file)


@pytest.mark.parametrize("name", ["gaussian", "salt-and-pepper", "grayscale"])
@pytest.mark.parametrize("shape", [(2, 17, 23, 1), (3, 9, 31, 3)])
def test_shapes_and_dtype_are_preserved(name, shape):
    batch = np.random.default_rng(4).random(shape).astype(np.float32)
    out = builtin(name).apply(tensorflow().convert_to_tensor(batch), tensorflow().constant(seed_pair(1, 2)),
                              **defaults(name))
    assert tuple(out.shape) == shape
    assert out.dtype.name == "float32"
    single = apply_corruption(builtin(name), batch[0], defaults(name), seed=1)
    assert single.shape == shape[1:] and single.dtype == np.float32
    assert single.min() >= 0.0 and single.max() <= 1.0


@pytest.mark.parametrize("name, texts", [("gaussian", {"sigma": "0:50"}), ("salt-and-pepper", {}), ("grayscale", {})])
def test_apply_runs_inside_tf_data_map(name, texts):
    tf = tensorflow()
    images = np.random.default_rng(5).random((6, 16, 16, 3)).astype(np.float32)
    values = defaults(name, **texts)
    plugin = builtin(name)
    seed = tf.constant(seed_pair(9, 1))

    dataset = tf.data.Dataset.from_tensor_slices(images).batch(3).map(lambda batch: plugin.apply(batch, seed, **values))
    batches = [b.numpy() for b in dataset]
    assert [b.shape for b in batches] == [(3, 16, 16, 3), (3, 16, 16, 3)]
    # graph mode inside tf.data gives exactly what eager mode gives for the same seed
    eager = plugin.apply(tf.convert_to_tensor(images[:3]), seed, **values).numpy()
    np.testing.assert_allclose(batches[0], eager, atol=1e-6)
    if name != "grayscale":
        assert not np.allclose(batches[0], images[:3])


def test_salt_and_pepper_knows_which_pixels_it_cannot_have_touched():
    from denoisekit.plugins import corruption

    noise = corruption("salt-and-pepper").obj
    rgb = np.array([[[1, 1, 1], [0, 0, 0], [1, 0, 0], [0.5, 1, 1]]], np.float32)
    # Impulses set every channel of a pixel at once: only all-white and all-black pixels may be hit.
    np.testing.assert_array_equal(noise.untouched(rgb)[0, :, 0], [False, False, True, True])
    assert noise.untouched(rgb).shape == rgb.shape and noise.untouched(rgb)[0, 2].all()
    gray = np.array([[[0.0], [0.2], [1.0]]], np.float32)
    np.testing.assert_array_equal(noise.untouched(gray)[0, :, 0], [False, True, False])
