"""What a run trains with where the user does not say: first the architecture's declared
defaults for the corruption (loss, biases, augmentation, learning-rate schedule:
``Architecture.training_defaults``), then the data's (augmentation, patch size), then the
toolkit's (L1, cosine decay, 96-pixel patches)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..params import ParamError

DEFAULT_LOSS = "l1"
DEFAULT_SCHEDULE = "cosine"
DEFAULT_PATCH = 96
#: Images where more than this share of the pixels has one value (a background: digits, text,
#: line art) train with L2 by default.
SPARSE_SHARE = 0.5


def architecture_defaults(arch_obj: Any, noise: str) -> dict[str, Any]:
    """The architecture's ``training_defaults(noise)`` (plugins need not define it: {})."""
    method = getattr(arch_obj, "training_defaults", None)
    return dict(method(noise) or {}) if callable(method) else {}


def resolve_arch_params(arch_obj: Any, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter: the declared default, replaced by the architecture's training
    default for this corruption, replaced by what the user gave."""
    declared = {p.name: p for p in getattr(arch_obj, "params", ())}
    chosen = {**{name: p.default for name, p in declared.items()},
              **dict(defaults.get("arch_params", {})), **dict(given)}
    for name, value in chosen.items():
        if name not in declared:
            raise ParamError(f"architecture {arch_obj.name!r} has no parameter {name!r}")
        declared[name].check(value)
    return chosen


def default_patch(fixed_size: tuple[int, int] | None, image_shapes: Sequence[tuple[int, ...]]) -> int:
    """A fixed-size model's own size; else DEFAULT_PATCH, or the largest image's longer side when
    every image is smaller (28 for digits: whole images, not 96x96 patches that are mostly padding)."""
    if fixed_size is not None:
        return min(fixed_size)
    largest = max((max(shape[:2]) for shape in image_shapes), default=DEFAULT_PATCH)
    return min(DEFAULT_PATCH, largest)


def background_share(images: Sequence[np.ndarray]) -> float:
    """The share of all pixels that have the most common 8-bit value."""
    counts = sum(np.bincount(np.rint(np.clip(im, 0, 1) * 255).astype(np.uint8).ravel(), minlength=256)
                 for im in images)
    return float(counts.max() / counts.sum())


def default_loss(images: Sequence[np.ndarray]) -> str:
    """L2 for images that are mostly one background value, else DEFAULT_LOSS. Under L1 the best
    estimate of each pixel is its posterior median, which on such images is the background for
    faint strokes; L2's posterior mean is what PSNR rewards (a unet on digits: +0.2 dB)."""
    return "l2" if images and background_share(images) > SPARSE_SHARE else DEFAULT_LOSS
