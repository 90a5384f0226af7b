"""Tiled inference: run a model over an image of any size in overlapping tiles.

Tiles overlap by ``overlap`` pixels and each output pixel is taken from the one
tile whose centre it is nearest (the overlap is cropped, as in CSBDeep), so every
kept pixel has at least ``overlap / 2`` pixels of real image context on each side
that is not an image border. For a translation-equivariant (fully convolutional)
model whose receptive-field radius fits in that context, the result equals
whole-image inference, with no seams; blending would only average two slightly
wrong values instead.

Tile starts are multiples of the model's ``size_multiple`` (a U-Net's downsampling
grid) so that each tile sees the same pixel phase as the whole image would, and
the image is reflect-padded at its bottom/right edge up to that multiple (or up to
a fixed input size) by index reflection, without copying the image.

Memory is bounded by the output image plus one batch of ``batch`` tiles: tiles are
gathered into a reused buffer, restored, and their kept cores written straight
into the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Callable

import numpy as np

#: Defaults for the ``model`` restorer. A 512 tile with 64 overlap (32 px context a
#: side) costs (512/448)^2 = 1.3x the work of one pass; the effective receptive field
#: of the bundled U-Nets (levels=3; theoretical radius ~55 px) is far smaller.
DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
DEFAULT_BATCH = 4

BatchFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Span:
    """One tile along one axis: input ``[start, start + size)``, kept output ``[keep_start, keep_end)``."""

    start: int
    keep_start: int
    keep_end: int


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def plan_axis(length: int, tile: int, overlap: int, multiple: int = 1, fixed: bool = False) -> tuple[int, list[Span]]:
    """Tile one axis of ``length`` pixels; returns the tile size used and the spans.

    ``tile`` and ``overlap`` are rounded to ``multiple`` (tile down, overlap up, at most the
    tile less one multiple). A ``fixed`` tile size is used exactly (models with one input size),
    with the overlap limited to half of it. The kept ranges partition ``[0, length)``.
    """
    if length < 1:
        raise ValueError("cannot tile an empty image")
    if fixed:
        overlap = min(overlap, tile // 2)
        step_multiple = 1
    else:
        if overlap >= tile:
            raise ValueError(f"the tile ({tile}) must be larger than the overlap ({overlap})")
        tile = max(multiple, tile // multiple * multiple)
        overlap = _round_up(overlap, multiple)
        step_multiple = multiple
        if tile >= length:  # one tile: the whole (padded) axis
            return _round_up(length, multiple), [Span(0, 0, length)]
        # An overlap just under the tile (checked before the model's multiple was known) rounds
        # up to it: the largest the grid allows instead.
        overlap = min(overlap, tile - multiple)
        # Shrink the tile to the smallest that needs no more tiles: 1024 px in 512 tiles with 64
        # overlap takes three either way, and three of 384 do 44% less work than three of 512.
        count = -(-(length - overlap) // (tile - overlap))
        tile = min(tile, _round_up(-(-(length + (count - 1) * overlap) // count), multiple))
    padded = max(tile, _round_up(length, step_multiple))
    step = tile - overlap
    starts = list(range(0, padded - tile, step)) + [padded - tile]
    cuts = [0] + [(b + a + tile) // 2 for a, b in zip(starts, starts[1:])] + [length]
    return tile, [Span(s, min(lo, length), min(hi, length)) for s, lo, hi in zip(starts, cuts, cuts[1:])]


def reflect_indices(indices: np.ndarray, length: int) -> np.ndarray:
    """Map indices beyond ``[0, length)`` back inside by mirror reflection (numpy's ``reflect``)."""
    if length == 1:
        return np.zeros_like(indices)
    period = 2 * (length - 1)
    folded = np.mod(indices, period)
    return np.where(folded >= length, period - folded, folded)


def fits_one_tile(height: int, width: int, tile: int = DEFAULT_TILE, multiple: int = 1) -> bool:
    """Whether ``tiled_apply`` restores an image of ``height`` x ``width`` as one tile (any-size models)."""
    side = max(multiple, tile // multiple * multiple)  # as ``plan_axis`` rounds it
    return height <= side and width <= side


def apply_one_tile(images: np.ndarray, fn: BatchFn, multiple: int = 1) -> np.ndarray:
    """``tiled_apply`` on each image of a stack ``(N, H, W, C)`` that fits one tile
    (``fits_one_tile``), as one call of ``fn``: each image reflect-padded to ``multiple`` as
    there, restored, and cropped back; returns ``(N, H, W, C')``."""
    if images.ndim != 4:
        raise ValueError(f"expected an (N, H, W, C) stack, got shape {images.shape}")
    count, height, width = images.shape[:3]
    rows = reflect_indices(np.arange(_round_up(height, multiple)), height)
    cols = reflect_indices(np.arange(_round_up(width, multiple)), width)
    batch = np.asarray(images[:, rows[:, None], cols[None, :]], np.float32)
    restored = fn(batch)
    if restored.shape[:3] != batch.shape[:3]:
        raise ValueError(f"the model returned tiles of shape {restored.shape[1:3]}, expected {batch.shape[1:3]}")
    return np.array(restored[:, :height, :width], np.float32)


def tiled_apply(
    image: np.ndarray,
    fn: BatchFn,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    batch: int = DEFAULT_BATCH,
    multiple: int = 1,
    fixed_size: tuple[int, int] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Apply ``fn`` (a batch ``(N, h, w, C)`` -> ``(N, h, w, C')`` function) to ``image`` ``(H, W, C)`` in tiles.

    ``multiple``: tile sizes and offsets the model needs (its ``size_multiple``);
    ``fixed_size``: ``(h, w)`` for a model with one input size, tiled at exactly that.
    The result goes into ``out`` ``(H, W, C')`` when given (e.g. a channel view), else a new array.
    """
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image, got shape {image.shape}")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    height, width = image.shape[:2]
    fixed = fixed_size is not None
    tile_h, rows = plan_axis(height, fixed_size[0] if fixed else tile, overlap, multiple, fixed)
    tile_w, cols = plan_axis(width, fixed_size[1] if fixed else tile, overlap, multiple, fixed)
    row_index = [reflect_indices(np.arange(r.start, r.start + tile_h), height) for r in rows]
    col_index = [reflect_indices(np.arange(c.start, c.start + tile_w), width) for c in cols]
    tiles = list(product(range(len(rows)), range(len(cols))))
    buffer = np.empty((min(batch, len(tiles)), tile_h, tile_w, image.shape[2]), np.float32)
    for first in range(0, len(tiles), batch):
        group = tiles[first:first + batch]
        for k, (i, j) in enumerate(group):
            buffer[k] = image[row_index[i][:, None], col_index[j][None, :]]
        restored = fn(buffer[: len(group)])
        if restored.shape[:3] != (len(group), tile_h, tile_w):
            raise ValueError(f"the model returned tiles of shape {restored.shape[1:3]}, expected {(tile_h, tile_w)}")
        if out is None:
            out = np.empty((height, width, restored.shape[3]), np.float32)
        for k, (i, j) in enumerate(group):
            r, c = rows[i], cols[j]
            out[r.keep_start:r.keep_end, c.keep_start:c.keep_end] = restored[
                k, r.keep_start - r.start:r.keep_end - r.start, c.keep_start - c.start:c.keep_end - c.start
            ]
    return out
