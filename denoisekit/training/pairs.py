"""Training from noisy/clean pairs: two folders matched by relative name (as ``clean
--reference`` matches), cut into patches with one crop, flip and rotation for both.

Every mismatch (a file without its partner, two images of one pair with different
sizes) is found before training starts and reported in one line naming the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..files import AmbiguousReference, collect_inputs, match_references
from ..images import ImageReadError, center_crop, read_image
from ..noise_ops import apply_corruption
from .datasets import DataError, convert_channels
from .patches import patch_batches, with_batch_seeds
from .pipeline import pad_to_patch, quantize

#: Files named in one error message at most (then "and N more").
NAMED = 4


@dataclass
class PairSet:
    """Matched float32 (H, W, C) images in [0, 1]: ``noisy[i]`` is a noisy take of ``clean[i]``."""

    noisy: list[np.ndarray]
    clean: list[np.ndarray]
    names: list[str]
    description: str


def _listed(items: list[Any]) -> str:
    names = [str(p) for p in items[:NAMED]]
    more = f" and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return ", ".join(names) + more


def _read(path: Path, channels: int) -> np.ndarray:
    try:
        return convert_channels(read_image(path).pixels, channels)
    except ImageReadError as err:
        raise DataError(str(err)) from None


def load_pairs(clean_dir: str | Path, noisy_dir: str | Path, channels: int) -> PairSet:
    """The pairs of two folders: each noisy file with the clean file of the same relative
    folder and stem (any image suffix). A file without its partner, or a pair whose sizes
    differ, is a ``DataError`` naming them (names are checked before any image is read)."""
    clean_dir, noisy_dir = Path(clean_dir), Path(noisy_dir)
    if not clean_dir.is_dir() or not noisy_dir.is_dir():
        raise DataError(f"pairs need two folders: {clean_dir} (clean) and {noisy_dir} (noisy)")
    clean_in, noisy_in = collect_inputs(clean_dir), collect_inputs(noisy_dir)
    if not noisy_in.files:
        raise DataError(f"{noisy_dir}: no images found")
    try:
        matches = match_references(clean_in, noisy_in)
    except AmbiguousReference as err:
        raise DataError(str(err)) from None
    problems = []
    orphans = [n for n, c in matches.items() if c is None]
    if orphans:
        problems.append(f"no clean image in {clean_dir} for {_listed(orphans)}")
    partners: dict[Path, list[Path]] = {}
    for noisy, clean in matches.items():
        if clean is not None:
            partners.setdefault(clean, []).append(noisy)
    unused = [c for c in clean_in.files if c not in partners]
    if unused:
        problems.append(f"no noisy image in {noisy_dir} for {_listed(unused)}")
    shared = [f"{c} ({', '.join(map(str, n))})" for c, n in partners.items() if len(n) > 1]
    if shared:
        problems.append(f"several noisy images for one clean image: {_listed(shared)}")
    if problems:
        raise DataError("pairs do not match: " + "; ".join(problems))

    noisy_images, clean_images, names, sizes = [], [], [], []
    for noisy_rel, clean_rel in matches.items():
        noisy = _read(noisy_in.source(noisy_rel), channels)
        clean = _read(clean_in.source(clean_rel), channels)
        if noisy.shape[:2] != clean.shape[:2]:
            sizes.append(f"{noisy_rel} {noisy.shape[1]}x{noisy.shape[0]} against {clean_rel} "
                         f"{clean.shape[1]}x{clean.shape[0]}")
        noisy_images.append(noisy)
        clean_images.append(clean)
        names.append(noisy_rel.as_posix())
    if sizes:
        raise DataError(f"pairs differ in size (noisy against clean, width x height): {_listed(sizes)}")
    listed = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return PairSet(noisy_images, clean_images, names,
                   f"{len(names)} pairs, clean from {clean_dir}, noisy from {noisy_dir}: {listed}")


def split_pairs(full: PairSet) -> tuple[PairSet, PairSet]:
    """Hold out the last pair (about a tenth when there are many) for validation."""
    if len(full.names) < 2:
        raise DataError("--pairs needs at least 2 pairs (one is held out), or pass --val-data with --val-pairs")
    n = max(1, len(full.names) // 10)
    train = PairSet(full.noisy[:-n], full.clean[:-n], full.names[:-n], f"{full.description}, less {n} held out")
    val = PairSet(full.noisy[-n:], full.clean[-n:], full.names[-n:], f"held-out pairs: {', '.join(full.names[-n:])}")
    return train, val


def pair_dataset(pairs: PairSet, corruption: Any | None, params: Mapping[str, Any], *,
                 patch: int, batch: int, seed: int, augment: str | bool = "dihedral") -> Any:
    """An endless ``tf.data.Dataset`` of (noisy, target) float32 batches: noisy (batch, patch,
    patch, C), target the clean patches with a last channel that is 1 on real pixels and 0 where
    a pair smaller than the patch was padded (as ``pipeline.patch_dataset``'s, for the masked losses).

    Each pair is stacked along the channel axis and cut as one image, so the crop, flip and
    rotation are the same for both. ``corruption`` (optional) adds synthetic noise on top of
    the noisy half, fresh for every batch, rounded to 8 bits as stored files are.
    """
    channels = pairs.clean[0].shape[-1]
    stacked = [np.concatenate([noisy, clean], axis=-1) for noisy, clean in zip(pairs.noisy, pairs.clean)]
    batches = patch_batches(stacked, patch=patch, batch=batch, seed=seed, augment=augment, mask=True)

    def split(both, batch_seed):
        noisy, clean = both[..., :channels], both[..., channels:]  # clean: the clean half and the mask
        if corruption is not None:
            noisy = quantize(corruption.apply(noisy, batch_seed, **params))
        return noisy, clean

    return with_batch_seeds(batches, split, seed + 1)


def pair_validation(pairs: PairSet, corruption: Any | None, params: Mapping[str, Any], *,
                    size: int, multiple: int, seed: int, fixed_size: tuple[int, int] | None = None,
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed (noisy, clean) validation images: the same centre crop of both; ``corruption``
    (seeded) on top of the noisy one when training adds it."""
    out = []
    for i, (noisy, clean) in enumerate(zip(pairs.noisy, pairs.clean)):
        # Any height and width, as clean images' validation (``validation.predict_pairs`` pads
        # them as inference does); rounded down to the multiple, a side under it was cut to nothing.
        noisy, clean = (validation_crop(im, size, 1, fixed_size) for im in (noisy, clean))
        if corruption is not None:
            noisy = np.asarray(quantize(apply_corruption(corruption, noisy, params, seed, key=i)))
        out.append((noisy, clean))
    return out


def validation_crop(image: np.ndarray, size: int, multiple: int,
                    fixed_size: tuple[int, int] | None = None) -> np.ndarray:
    """The centre crop validation uses (as ``pipeline.validation_pairs`` cuts it): at most
    ``size``, a ``multiple`` (a side under it mirrored up to it first); a fixed-size model's own
    size (small images padded up)."""
    if fixed_size is not None:
        return np.ascontiguousarray(center_crop(pad_to_patch(image, max(fixed_size)), min(fixed_size)))
    short = [max(0, multiple - side) for side in image.shape[:2]]
    if any(short):  # else rounded down to the multiple it would be empty
        image = np.pad(image, [(0, short[0]), (0, short[1])] + [(0, 0)] * (image.ndim - 2), mode="symmetric")
    return np.ascontiguousarray(center_crop(image, size, multiple))
