"""Self-supervised training: Neighbor2Neighbor's sub-sampler and loss, Noise2Void's blind spots."""

from __future__ import annotations

import numpy as np
import pytest

from denoisekit.tf_setup import tensorflow
from denoisekit.training import self_supervised as ss

tf = tensorflow()


def test_neighbor_choices_are_two_adjacent_pixels_of_each_cell_all_pairs_equally_likely():
    choices = ss.neighbor_choices(tf.constant([8, 64, 64]), tf.constant([3, 4])).numpy()
    first, second = choices[..., 0], choices[..., 1]
    assert choices.shape == (8, 64, 64, 2) and first.min() >= 0 and first.max() <= 3
    assert np.all(first != second)
    # Adjacent: the positions (2 * row + column) differ in exactly the row bit or the column bit.
    assert set(np.unique(first ^ second)) == {1, 2}
    counts = np.bincount((4 * first + second).ravel(), minlength=16)
    pairs = [4 * a + b for a in range(4) for b in range(4) if a ^ b in (1, 2)]
    n = first.size
    expected, tolerance = n / 8, 5 * np.sqrt(n * (1 / 8) * (7 / 8))
    assert all(abs(counts[p] - expected) < tolerance for p in pairs)
    assert counts.sum() == counts[pairs].sum()  # no diagonal or repeated pixel ever
    other = ss.neighbor_choices(tf.constant([8, 64, 64]), tf.constant([3, 5])).numpy()
    assert not np.array_equal(choices, other)


def test_subsampler_gives_two_half_size_images_from_distinct_pixels_of_each_cell():
    n, h, w = 2, 6, 8
    image = np.arange(n * h * w * 3, dtype=np.float32).reshape(n, h, w, 3)  # every value unique
    choices = ss.neighbor_choices(tf.constant([n, h // 2, w // 2]), tf.constant([1, 1]))
    g1 = ss.subsample(tf.constant(image), choices[..., 0]).numpy()
    g2 = ss.subsample(tf.constant(image), choices[..., 1]).numpy()
    assert g1.shape == g2.shape == (n, h // 2, w // 2, 3)
    c = choices.numpy()
    for b in range(n):
        for i in range(h // 2):
            for j in range(w // 2):
                for sub, pos in ((g1, c[b, i, j, 0]), (g2, c[b, i, j, 1])):
                    np.testing.assert_array_equal(sub[b, i, j], image[b, 2 * i + pos // 2, 2 * j + pos % 2])
    assert np.all(g1 != g2)


def test_neighbor2neighbor_loss_is_the_papers_formula_with_the_full_output_under_stop_gradient():
    rng = np.random.default_rng(0)
    noisy = tf.constant(rng.random((2, 8, 8, 1), dtype=np.float32))
    choices = ss.neighbor_choices(tf.constant([2, 4, 4]), tf.constant([5, 6]))
    weight = tf.Variable(0.7)

    def denoise(x):
        return weight * x

    with tf.GradientTape(persistent=True) as tape:
        restored = denoise(noisy)
        loss = ss.neighbor2neighbor_loss(denoise, noisy, choices, restored, gamma=2.0)
    g1, g2 = (ss.subsample(noisy, choices[..., k]).numpy() for k in (0, 1))
    f_g1, f1, f2 = 0.7 * g1, 0.7 * g1, 0.7 * g2  # the network is linear: g(f(y)) = f(g(y))
    expected = np.mean((f_g1 - g2) ** 2) + 2.0 * np.mean((f_g1 - g2 - (f1 - f2)) ** 2)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert tape.gradient(loss, restored) is None  # f(y) only steers through the regulariser's target
    # d/dw of ||w g1 - g2||^2 + 2 ||w g1 - g2 - const||^2, const = 0.7 (g1 - g2) held fixed
    const = 0.7 * (g1 - g2)
    grad = np.mean(2 * (0.7 * g1 - g2) * g1) + 2.0 * np.mean(2 * (0.7 * g1 - g2 - const) * g1)
    assert float(tape.gradient(loss, weight)) == pytest.approx(grad, rel=1e-4)


def test_blind_spots_replace_a_few_percent_of_pixels_by_a_uniform_other_pixel_of_their_window():
    n, h, w, r = 16, 128, 128, ss.MASK_RADIUS
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    image = np.stack([rows * 1000 + cols, -(rows * 1000 + cols)], -1).astype(np.float32)
    batch = np.repeat(image[None], n, axis=0)
    masked, mask = ss.blind_spots(tf.constant(batch), tf.constant([7, 8]), ratio=0.1)
    masked, mask = masked.numpy(), mask.numpy()[..., 0].astype(bool)
    assert mask.mean() == pytest.approx(0.1, abs=0.005)
    np.testing.assert_array_equal(masked[~mask], batch[~mask])  # only the masked pixels change
    src = masked[mask][:, 0].astype(int)
    np.testing.assert_array_equal(masked[mask][:, 1], -src)  # all channels from the same pixel
    dy = src // 1000 - np.broadcast_to(rows, mask.shape)[mask]
    dx = src % 1000 - np.broadcast_to(cols, mask.shape)[mask]
    inside = (np.broadcast_to(rows, mask.shape)[mask] >= r) & (np.broadcast_to(rows, mask.shape)[mask] < h - r) \
        & (np.broadcast_to(cols, mask.shape)[mask] >= r) & (np.broadcast_to(cols, mask.shape)[mask] < w - r)
    assert np.all((np.abs(dy) <= r) & (np.abs(dx) <= r))
    assert not np.any((dy == 0) & (dx == 0) & inside)  # never the pixel itself (away from the border)
    offsets = np.bincount(((dy + r) * (2 * r + 1) + dx + r)[inside], minlength=(2 * r + 1) ** 2)
    centre = (2 * r + 1) ** 2 // 2
    others = np.delete(offsets, centre)
    assert offsets[centre] == 0
    assert np.all(np.abs(others - others.mean()) < 5 * np.sqrt(others.mean()))  # uniform over the 24 others


def test_blind_spot_loss_is_taken_on_the_masked_pixels_only():
    rng = np.random.default_rng(2)
    target = rng.random((2, 16, 16, 3), dtype=np.float32)
    prediction = rng.random((2, 16, 16, 3), dtype=np.float32)
    mask = (rng.random((2, 16, 16, 1)) < 0.1).astype(np.float32)
    loss = float(ss.masked_mse(tf.constant(target), tf.constant(prediction), tf.constant(mask)))
    where = np.broadcast_to(mask.astype(bool), target.shape)
    assert loss == pytest.approx(np.mean((prediction[where] - target[where]) ** 2), rel=1e-5)
    elsewhere = prediction + 10.0 * (1 - mask)  # anything at all on the unmasked pixels
    assert float(ss.masked_mse(tf.constant(target), tf.constant(elsewhere), tf.constant(mask))) == pytest.approx(loss)
    there = prediction + 0.5 * mask
    assert float(ss.masked_mse(tf.constant(target), tf.constant(there), tf.constant(mask))) != pytest.approx(loss)


@pytest.mark.slow
def test_noise2void_batches_pair_the_masked_input_with_the_noisy_patch_and_its_mask():
    rng = np.random.default_rng(3)
    images = [rng.random((40, 40, 1), dtype=np.float32) for _ in range(2)]
    x, y = next(iter(ss.noisy_dataset(images, "noise2void", patch=16, batch=4, seed=1)))
    x, y = x.numpy(), y.numpy()
    assert x.shape == (4, 16, 16, 1) and y.shape == (4, 16, 16, 2)
    noisy, mask = y[..., :1], y[..., 1:].astype(bool)
    np.testing.assert_array_equal(x[~mask], noisy[~mask])
    assert mask.any() and np.all(x[mask] != noisy[mask])


@pytest.mark.parametrize("method", ["neighbor2neighbor", "noise2void"])
def test_held_out_loss_ranks_a_denoiser_above_the_identity_map(method):
    """The figure that picks the epoch without clean images must prefer a model that removes
    noise to one that returns its input (Neighbor2Neighbor's full loss, regulariser included,
    does the opposite)."""
    import keras

    from denoisekit.training.self_supervised import HeldOutNoisy

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:64, 0:64] / 64.0
    clean = (0.3 + 0.4 * np.sin(3 * x) * np.cos(2 * y))[..., None].astype(np.float32)
    crops = [np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32) for _ in range(3)]
    inputs = keras.Input((None, None, 1))
    identity = keras.Model(inputs, inputs)
    blur = keras.layers.AveragePooling2D(5, strides=1, padding="same")  # a crude but real denoiser here
    smoother = keras.Model(inputs, blur(inputs))
    held_out = HeldOutNoisy(crops, method, seed=1)
    assert held_out.figures(smoother)["loss"] < held_out.figures(identity)["loss"]
