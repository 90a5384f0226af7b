"""The tf.data pipeline: decoded images -> random patches -> augmentation -> batches ->
corruption made on the fly (fresh noise every epoch) -> (noisy, target) pairs, the target
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
from .augment import augment_patch
from .padding import with_mask

#: Users' noisy files are 8-bit: train on inputs rounded to 8 bits, not on float noise.
INPUT_LEVELS = 255.0
SHUFFLE_PATCHES = 1024


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
    tf = tensorflow()
    if isinstance(augment, bool):
        augment = "dihedral" if augment else "none"
    channels = images[0].shape[-1]
    padded = [with_mask(np.asarray(im, np.float32), patch) for im in images]
    spec = tf.TensorSpec((None, None, channels + 1), tf.float32)
    decoded = tf.data.Dataset.from_generator(lambda: iter(padded), output_signature=spec).cache()

    def visits(image):
        # Large images give more patches per pass, so every region is seen about equally often.
        area = tf.cast(tf.shape(image)[0] * tf.shape(image)[1], tf.float32)
        count = tf.math.ceil(area / float(4 * patch * patch))
        return tf.data.Dataset.from_tensors(image).repeat(tf.cast(count, tf.int64))

    def crop(image, index):
        crop_seed, flip_seed, rot_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.stack([tf.constant(seed, tf.int64), index]), 3))
        out = tf.image.stateless_random_crop(image, [patch, patch, channels + 1], seed=crop_seed)
        return augment_patch(out, flip_seed, rot_seed, augment)  # the mask turns with its pixels

    def corrupt(target, index):
        noise_seed = tf.cast(tf.stack([tf.constant(seed + 1, tf.int64), index]), tf.int32)
        noisy = corruption.apply(target[..., :channels], noise_seed, **params)
        return quantize(noisy), target

    patches = decoded.repeat().shuffle(len(padded), seed=seed).flat_map(visits)
    patches = tf.data.Dataset.zip((patches, tf.data.Dataset.counter())).map(
        crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    batches = patches.shuffle(SHUFFLE_PATCHES, seed=seed).batch(batch, drop_remainder=True)
    batches = tf.data.Dataset.zip((batches, tf.data.Dataset.counter())).map(
        corrupt, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return batches.prefetch(tf.data.AUTOTUNE)


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
