"""Random training patches as a tf.data stream, cut the same way from every channel.

An image here may be a noisy/clean pair stacked along the channel axis: one crop, one
flip and one rotation then move both halves together, so a pair stays aligned by
construction (nothing is drawn twice). Randomness is stateless and keyed by (seed,
element index), so a seed reproduces the stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tf_setup import tensorflow
from .augment import augment_patch
from .padding import with_mask

#: Patches mixed across images before batching.
SHUFFLE_PATCHES = 1024


def patch_batches(images: list[np.ndarray], *, patch: int, batch: int, seed: int, augment: str | bool = "dihedral",
                  mask: bool = False) -> Any:
    """An endless ``tf.data.Dataset`` of float32 batches (batch, patch, patch, C) cut from
    ``images`` (each (H, W, C), C the same for all), flipped and turned by ``augment`` (none,
    flips, dihedral; True: dihedral). Larger images give proportionally more patches per pass.
    An image smaller than the patch is padded (mirrored); with ``mask`` each patch carries one
    more channel, 1 on real pixels and 0 on that padding (padding.with_mask)."""
    tf = tensorflow()
    if isinstance(augment, bool):
        augment = "dihedral" if augment else "none"
    channels = images[0].shape[-1] + 1  # the mask travels with the pixels through crops and turns
    padded = [with_mask(np.asarray(im, np.float32), patch) for im in images]
    spec = tf.TensorSpec((None, None, channels), tf.float32)
    decoded = tf.data.Dataset.from_generator(lambda: iter(padded), output_signature=spec).cache()

    def visits(image):
        area = tf.cast(tf.shape(image)[0] * tf.shape(image)[1], tf.float32)
        count = tf.math.ceil(area / float(4 * patch * patch))
        return tf.data.Dataset.from_tensors(image).repeat(tf.cast(count, tf.int64))

    def crop(image, index):
        crop_seed, flip_seed, rot_seed = tf.unstack(
            tf.random.experimental.stateless_split(tf.stack([tf.constant(seed, tf.int64), index]), 3))
        out = tf.image.stateless_random_crop(image, [patch, patch, channels], seed=crop_seed)
        out = augment_patch(out, flip_seed, rot_seed, augment)
        return out if mask else out[..., :-1]

    patches = decoded.repeat().shuffle(len(padded), seed=seed).flat_map(visits)
    patches = tf.data.Dataset.zip((patches, tf.data.Dataset.counter())).map(
        crop, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return patches.shuffle(SHUFFLE_PATCHES, seed=seed).batch(batch, drop_remainder=True)


def with_batch_seeds(batches: Any, fn: Any, seed: int) -> Any:
    """``batches`` mapped by ``fn(batch, batch_seed)``: each batch gets its own stateless int32
    seed (2,), keyed by ``seed`` and the batch's index; prefetched."""
    tf = tensorflow()

    def call(batch, index):
        return fn(batch, tf.cast(tf.stack([tf.constant(seed, tf.int64), index]), tf.int32))

    return tf.data.Dataset.zip((batches, tf.data.Dataset.counter())).map(
        call, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
