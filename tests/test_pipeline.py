"""The training feed: patches cut from the clean images, augmented, corrupted, reproducible."""

import numpy as np
import pytest

from denoisekit.plugins import corruption
from denoisekit.training.pipeline import patch_dataset


@pytest.mark.slow
def test_patches_are_crops_of_the_training_images_and_the_seed_repeats_the_stream():
    rng = np.random.default_rng(1)
    image = rng.random((40, 56, 1), dtype=np.float32)
    gaussian = corruption("gaussian").obj

    def first_batches(seed):
        data = patch_dataset([image], gaussian, {"sigma": 25.0}, patch=16, batch=4, seed=seed)
        return [(np.asarray(noisy), np.asarray(clean)) for noisy, clean in data.take(3)]

    batches = first_batches(7)
    plain = [image[y:y + 16, x:x + 16] for y in range(25) for x in range(41)]
    crops = [np.rot90(c, k) for c in plain for k in range(4)]
    crops += [c[:, ::-1] for c in crops]  # the 8 flips and rotations of every crop
    for noisy, clean in batches:
        assert noisy.shape == clean.shape == (4, 16, 16, 1)
        for patch in clean:
            assert any(np.array_equal(patch, c) for c in crops)
        # 8-bit inputs carrying sigma 25 noise: residual std about 25/255
        assert np.allclose(noisy * 255, np.round(noisy * 255), atol=1e-3)
        assert 0.06 < np.std(noisy - clean) < 0.14
    turned = [p for _, clean in batches for p in clean if not any(np.array_equal(p, c) for c in plain)]
    assert turned  # augmented: some patches are flipped or rotated
    again = first_batches(7)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(batches, again))
    other = first_batches(8)
    assert not np.array_equal(batches[0][1], other[0][1])
