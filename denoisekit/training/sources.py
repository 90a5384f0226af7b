"""What a run learns from when it is not clean images with noise made on the fly (the
trainer's own path): noisy/clean pairs (``--pairs``), or noisy images alone
(``--self-supervised``). The trainer asks this module for the data, the feed, the
validation and what to record; every file is read and checked before a model is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .datasets import DataError, ImageSet, load_training_set, split_folder
from .pairs import PairSet, load_pairs, pair_dataset, pair_validation, split_pairs, validation_crop
from .self_supervised import (GAMMA, MASK_RADIUS, MASK_RATIO, NEIGHBOR2NEIGHBOR, HeldOutNoisy, noisy_dataset,
                              size_factor)

#: ``TrainConfig.source`` values.
SYNTHETIC, PAIRS, SELF_SUPERVISED = "synthetic", "pairs", "self-supervised"


@dataclass
class Source:
    """The training data and the held-out data of one run: pairs with their clean images,
    or noisy images alone (``noisy``), validated on clean pairs if there are any, else on
    held-out noisy images (``val_noisy``)."""

    kind: str
    description: str
    val_description: str
    pairs: PairSet | None = None
    noisy: list[np.ndarray] = field(default_factory=list)
    val_pairs: PairSet | None = None
    val_noisy: list[np.ndarray] = field(default_factory=list)

    @property
    def validated_by_loss(self) -> bool:
        """No clean validation images: the held-out self-supervised loss picks the epoch."""
        return self.val_pairs is None


def open_source(config: Any) -> Source:
    """Read and check the run's data (``config.source`` pairs or self-supervised; the options
    themselves were checked by ``options.check_sources``)."""
    val_pairs = (load_pairs(config.val_data, config.val_pairs, config.channels)
                 if config.val_pairs is not None else None)
    if config.pairs is not None:
        pairs = load_pairs(config.data, config.pairs, config.channels)
        if val_pairs is None:
            pairs, val_pairs = split_pairs(pairs)
        return Source(PAIRS, pairs.description, val_pairs.description, pairs=pairs, val_pairs=val_pairs)
    noisy = load_training_set(config.data, config.channels)
    noisy = ImageSet(noisy.images, f"noisy: {noisy.description}", noisy.names)
    if val_pairs is not None:
        return Source(SELF_SUPERVISED, noisy.description, val_pairs.description, noisy=noisy.images,
                      val_pairs=val_pairs)
    if config.val_data is not None:
        held = load_training_set(config.val_data, config.channels)
        held = ImageSet(held.images, f"noisy: {held.description}", held.names)
    else:
        noisy, held = split_folder(noisy)
    return Source(SELF_SUPERVISED, noisy.description, f"{held.description} (no clean images: "
                  f"validated by the self-supervised loss)", noisy=noisy.images, val_noisy=held.images)


@dataclass
class Feed:
    """The training batches, and the (noisy, clean) validation images, or without clean
    images the callback that validates on held-out noisy ones."""

    dataset: Any
    pairs: list[tuple[np.ndarray, np.ndarray]]
    held_out: HeldOutNoisy | None = None


def check_patch(config: Any, multiple: int, fixed_size: tuple[int, int] | None) -> None:
    """Neighbor2Neighbor trains the network on half-size sub-images: any-size models only,
    and patches a multiple of twice the architecture's size multiple (its batches are not
    padded to the model's size as the others are)."""
    factor = size_factor(config.self_supervised) if config.self_supervised else 1
    if factor == 1:
        return
    if fixed_size is not None:
        raise DataError(f"{config.self_supervised} feeds the network half-size images; architecture "
                        f"{config.arch!r} takes only {fixed_size[0]}x{fixed_size[1]} (use --method noise2void)")
    if config.patch % (factor * multiple):
        raise DataError(f"--patch {config.patch}: {config.self_supervised} needs a multiple of "
                        f"{factor * multiple} (twice the architecture's size multiple {multiple})")


def make_feed(source: Source, config: Any, noise: Any, *, size: int, multiple: int,
              fixed_size: tuple[int, int] | None) -> Feed:
    """The training feed and validation for ``source`` (``size``: validation crop side). The
    batches are the patch size; the trainer pads them to the model's size (padding.pad_batch)."""
    seed = config.seed
    if source.kind == PAIRS:
        dataset = pair_dataset(source.pairs, noise, config.noise_params, patch=config.patch,
                               batch=config.batch, seed=seed, augment=config.augment)
    else:
        dataset = noisy_dataset(source.noisy, config.self_supervised, patch=config.patch,
                                batch=config.batch, seed=seed, augment=config.augment)
    if source.val_pairs is not None:
        pairs = pair_validation(source.val_pairs, noise, config.noise_params, size=size, multiple=multiple,
                                seed=seed + 7, fixed_size=fixed_size)
        return Feed(dataset, pairs)
    crop_multiple = multiple * size_factor(config.self_supervised)
    crops = [validation_crop(image, size, crop_multiple, fixed_size) for image in source.val_noisy]
    return Feed(dataset, [], HeldOutNoisy(crops, config.self_supervised, seed + 7))


def source_metadata(source: Source, config: Any) -> dict[str, Any]:
    """What the model's metadata says about where its noise came from."""
    meta: dict[str, Any] = {"noise_source": source.kind}
    if source.kind == PAIRS:
        meta["pairs"] = str(Path(config.pairs))
    else:
        method = config.self_supervised
        meta["self_supervised"] = {"method": method, **({"gamma": GAMMA} if method == NEIGHBOR2NEIGHBOR
                                                        else {"mask_ratio": MASK_RATIO, "window": 2 * MASK_RADIUS + 1})}
        meta["loss"] = "l2"  # the methods' own: its minimiser is the mean, the clean signal
    if source.validated_by_loss:
        meta["select"] = "loss"
    return meta
