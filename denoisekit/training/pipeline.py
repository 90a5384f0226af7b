"""The tf.data pipeline: decoded images -> random patches -> augmentation -> batches
(patches.py) -> corruption made on the fly (fresh noise every epoch) -> (noisy, target) pairs, the target
being the clean patch with a mask of its real pixels as a last channel (padding.py).

Everything after the one-time decode runs as TensorFlow graph ops; randomness is
stateless and keyed by (seed, element index), so a seed reproduces the stream.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..images import center_crop
from ..noise_ops import apply_corruption
from ..tf_setup import tensorflow
from .padding import with_mask
from .patches import patch_batches, with_batch_seeds

#: Users' noisy files are 8-bit: train on inputs rounded to 8 bits, not on float noise.
INPUT_LEVELS = 255.0


def pad_to_patch(image: np.ndarray, patch: int) -> np.ndarray:
    """Reflect-pad an image smaller than the patch size (e.g. 25x25 faces) up to it (no mask)."""
    return with_mask(image, patch)[..., :-1]


def quantize(images: Any) -> Any:
    """Round to the 8-bit grid, as a stored noisy file is."""
    tf = tensorflow()
    return tf.round(tf.clip_by_value(images, 0.0, 1.0) * INPUT_LEVELS) / INPUT_LEVELS


def patch_dataset(
    images: list[np.ndarray], corruption: Any, params: Mapping[str, Any], *,
    patch: int, batch: int, seed: int, augment: str | bool = "dihedral",
) -> Any:
    """An endless ``tf.data.Dataset`` of float32 batches (noisy, target): noisy (batch, patch,
    patch, C), target the clean patches with a last channel that is 1 on real pixels and 0 where
    an image smaller than the patch was padded. ``augment``: none, flips or dihedral."""
    channels = images[0].shape[-1]
    targets = patch_batches(images, patch=patch, batch=batch, seed=seed, augment=augment, mask=True)

    def corrupt(target, noise_seed):  # fresh noise for every batch, keyed by its index
        return quantize(corruption.apply(target[..., :channels], noise_seed, **params)), target

    return with_batch_seeds(targets, corrupt, seed + 1)


def validation_pairs(
    images: list[np.ndarray], corruption: Any, params: Mapping[str, Any], *,
    size: int, seed: int, fixed_size: tuple[int, int] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A fixed, seeded set of (noisy, clean) images, so figures compare across epochs and runs:
    central crops of at most ``size`` (a fixed-size model's own size), any height and width
    (``validation.predict_pairs`` pads them as inference does)."""
    pairs = []
    for i, image in enumerate(images):
        image = center_crop(image, min(fixed_size) if fixed_size is not None else size)
        noisy = apply_corruption(corruption, image, params, seed, key=i)
        pairs.append((np.asarray(quantize(noisy)), image))
    return pairs
