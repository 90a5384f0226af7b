"""The training feed: patches cut from the clean images, augmented as asked, corrupted, reproducible;
patches padded to the model's size with a mask of their real pixels."""

import numpy as np
import pytest

from denoisekit.plugins import corruption
from denoisekit.training.pipeline import patch_dataset


def dihedral(patch: np.ndarray) -> list[np.ndarray]:
    turns = [np.rot90(patch, k) for k in range(4)]
    return turns + [t[:, ::-1] for t in turns]


def first_batches(images, seed=7, n=3, **options):
    data = patch_dataset(images, corruption("gaussian").obj, {"sigma": 25.0}, batch=4, seed=seed, **options)
    return [(np.asarray(noisy), np.asarray(target)) for noisy, target in data.take(n)]


@pytest.mark.slow
def test_patches_are_crops_of_the_training_images_and_the_seed_repeats_the_stream():
    rng = np.random.default_rng(1)
    image = rng.random((40, 56, 1), dtype=np.float32)
    batches = first_batches([image], patch=16)
    plain = [image[y:y + 16, x:x + 16] for y in range(25) for x in range(41)]
    crops = [c for p in plain for c in dihedral(p)]  # the 8 flips and rotations of every crop
    for noisy, target in batches:
        clean, mask = target[..., :1], target[..., 1:]
        assert noisy.shape == clean.shape == mask.shape == (4, 16, 16, 1)
        assert np.all(mask == 1)  # no padding: every pixel is real
        for patch in clean:
            assert any(np.array_equal(patch, c) for c in crops)
        # 8-bit inputs carrying sigma 25 noise: residual std about 25/255
        assert np.allclose(noisy * 255, np.round(noisy * 255), atol=1e-3)
        assert 0.06 < np.std(noisy - clean) < 0.14
    turned = [p for _, target in batches for p in target[..., :1] if not any(np.array_equal(p, c) for c in plain)]
    assert turned  # augmented by default: some patches are flipped or rotated
    again = first_batches([image], patch=16)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(batches, again))
    other = first_batches([image], seed=8, patch=16)
    assert not np.array_equal(batches[0][1], other[0][1])


@pytest.mark.slow
def test_augment_none_keeps_patches_upright_and_flips_only_mirrors():
    rng = np.random.default_rng(2)
    image = rng.random((20, 24, 1), dtype=np.float32)
    plain = [image[y:y + 12, x:x + 12] for y in range(9) for x in range(13)]
    upright = [p for _, t in first_batches([image], n=4, patch=12, augment="none") for p in t[..., :1]]
    assert all(any(np.array_equal(p, c) for c in plain) for p in upright)
    mirrored = [p for _, t in first_batches([image], n=6, patch=12, augment="flips") for p in t[..., :1]]
    assert all(any(np.array_equal(p, c) or np.array_equal(p, c[:, ::-1]) for c in plain) for p in mirrored)
    assert any(not any(np.array_equal(p, c) for c in plain) for p in mirrored)  # some are flipped


@pytest.mark.slow
def test_an_image_smaller_than_the_patch_is_padded_and_masked():
    image = np.linspace(0.2, 0.8, 10 * 12, dtype=np.float32).reshape(10, 12, 1)
    (noisy, target), = first_batches([image], n=1, patch=16, augment="none")
    clean, mask = target[..., :1], target[..., 1:]
    assert noisy.shape == (4, 16, 16, 1)
    np.testing.assert_array_equal(clean[:, :10, :12], np.broadcast_to(image, (4, 10, 12, 1)))
    assert np.all(mask[:, :10, :12] == 1) and mask.sum() == 4 * 10 * 12  # only the real pixels count


def test_padding_to_the_models_size_mirrors_as_inference_does_and_masks_the_padding():
    from denoisekit.tiling import reflect_indices
    from denoisekit.training.padding import pad_batch

    rng = np.random.default_rng(3)
    noisy = rng.random((2, 28, 28, 1), dtype=np.float32)
    target = np.concatenate([rng.random((2, 28, 28, 1), dtype=np.float32), np.ones((2, 28, 28, 1), np.float32)], -1)
    grown_noisy, grown_target = (np.asarray(t) for t in pad_batch(noisy, target, (32, 32)))
    index = reflect_indices(np.arange(32), 28)
    np.testing.assert_array_equal(grown_noisy, noisy[:, index][:, :, index])  # as `clean` pads a 28x28 image
    np.testing.assert_array_equal(grown_target[:, :28, :28], target)
    assert grown_target[..., 1].sum() == 2 * 28 * 28  # mask: the padding does not count


def test_losses_count_only_the_real_pixels():
    from denoisekit.training.losses import LOSSES

    rng = np.random.default_rng(4)
    clean = rng.random((2, 16, 16, 1), dtype=np.float32) * 0.8 + 0.1
    guess = np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    mask = np.zeros((2, 16, 16, 1), np.float32)
    mask[:, :12, :12] = 1
    wild = guess.copy()
    wild[:, 12:, :] = 1 - clean[:, 12:, :]  # whatever the model makes of the padding
    wild[:, :, 12:] = 1 - clean[:, :, 12:]
    for name, loss in LOSSES.items():
        masked = np.asarray(loss(np.concatenate([clean, mask], -1), wild))
        alone = np.asarray(loss(clean[:, :12, :12], guess[:, :12, :12]))
        assert masked == pytest.approx(alone, rel=1e-4, abs=1e-5), name  # the padding changes nothing
        assert np.asarray(loss(clean, wild)).mean() > alone.mean()  # without the mask it would
