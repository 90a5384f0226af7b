"""Patches and images padded to the size a model needs, with the loss on real pixels only.

A U-Net needs sizes that are multiples of its downsampling steps, a dense autoencoder one
fixed size; digits are 28x28 and faces 25x25. Training pads a patch as ``clean`` pads an
image at inference (mirror reflection at the bottom and right, ``tiling.reflect_indices``)
and carries a mask of the real pixels as one more channel of the target, so the loss and
the validation figures are taken on real pixels only (losses.py reads the mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tf_setup import tensorflow
from ..tiling import reflect_indices


class SizeError(ValueError):
    """A patch size a model cannot be trained on; the message names the sizes that work."""


def round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def model_input_size(patch: int, multiple: int, fixed: tuple[int, int] | None, arch: str) -> tuple[int, int]:
    """The (height, width) a ``patch`` x ``patch`` crop is padded to for the model."""
    if fixed is None:
        return round_up(patch, multiple), round_up(patch, multiple)
    if patch > min(fixed):
        raise SizeError(f"the {arch} model takes {fixed[0]}x{fixed[1]} inputs: use --patch {min(fixed)} "
                        f"or smaller (a smaller patch is padded), not {patch}")
    return fixed


def with_mask(image: np.ndarray, patch: int) -> np.ndarray:
    """``image`` (H, W, C) and a last channel that is 1 on its pixels, padded (mirrored, mask 0)
    to at least ``patch`` x ``patch`` when it is smaller (25x25 faces under a 32 patch)."""
    h, w = image.shape[:2]
    ph, pw = max(0, patch - h), max(0, patch - w)
    stacked = np.concatenate([image, np.ones((h, w, 1), image.dtype)], axis=-1)
    if not (ph or pw):
        return stacked
    padded = np.pad(stacked, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
    padded[h:, :, -1] = 0
    padded[:, w:, -1] = 0
    return padded


def pad_batch(noisy: Any, target: Any, size: tuple[int, int]) -> tuple[Any, Any]:
    """Pad a batch of (noisy (N, p, p, C), target (N, p, p, C + 1)) to ``size`` by reflection;
    the target's mask channel is 0 on the padding."""
    tf = tensorflow()
    p_h, p_w = int(noisy.shape[1]), int(noisy.shape[2])
    rows = reflect_indices(np.arange(size[0]), p_h)
    cols = reflect_indices(np.arange(size[1]), p_w)

    def grow(x: Any) -> Any:
        return tf.gather(tf.gather(x, rows, axis=1), cols, axis=2)

    real = ((np.arange(size[0]) < p_h)[:, None] & (np.arange(size[1]) < p_w)[None, :]).astype(np.float32)
    target = grow(target)
    mask = target[..., -1:] * real[None, :, :, None]
    return grow(noisy), tf.concat([target[..., :-1], mask], axis=-1)


def pad_images(batch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A numpy batch (N, h, w, C) padded to ``size`` as inference pads (mirror, bottom and right)."""
    rows = reflect_indices(np.arange(size[0]), batch.shape[1])
    cols = reflect_indices(np.arange(size[1]), batch.shape[2])
    return batch[:, rows[:, None], cols[None, :]]
