"""Patch augmentation for ``train --augment``: none, flips, or the 8 flips and rotations.

Noise has no orientation, and a photo's textures look the same turned, so a fully
convolutional denoiser learns from every turn of a patch (``dihedral``). Digits, letters
and aligned faces are not rotation-invariant, and a model that sees whole images (the
autoencoder's dense latent) spends its capacity on turned copies it will never be asked
to restore: for those ``none``, or ``flips`` for mirror-symmetric subjects.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..tf_setup import tensorflow
from . import AUGMENTS


def augment_patch(patch: Any, flip_seed: Any, rot_seed: Any, mode: str) -> Any:
    """One patch (H, W, C) flipped and/or turned at random (stateless seeds, (2,) int each)."""
    if mode not in AUGMENTS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTS)}, not {mode!r}")
    if mode == "none":
        return patch
    tf = tensorflow()
    out = tf.image.stateless_random_flip_left_right(patch, seed=flip_seed)
    if mode == "dihedral":
        out = tf.image.rot90(out, tf.random.stateless_uniform([], rot_seed, 0, 4, tf.int32))
    return out


def default_augment(image_shapes: Sequence[tuple[int, ...]], patch: int) -> str:
    """``none`` when every training image fits in one patch (the images are the samples:
    digits, glyphs, aligned faces, which have an upright), else ``dihedral`` (patches cut
    from larger pictures, whose textures have none)."""
    whole = all(shape[0] <= patch and shape[1] <= patch for shape in image_shapes)
    return "none" if whole else "dihedral"

