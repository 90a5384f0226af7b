"""What a run trains with where the user does not say: first the architecture's declared
defaults for the corruption (loss, biases, augmentation, learning-rate schedule:
``Architecture.training_defaults``), then what suits the data (loss, biases, augmentation,
patch size), then the toolkit's (L1, the wsd schedule, 96-pixel patches)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ..params import ParamError

DEFAULT_LOSS = "l1"
DEFAULT_SCHEDULE = "wsd"
DEFAULT_PATCH = 96
#: Images where more than this share of the pixels has one value (a background: digits, text,
#: line art) are "mostly background" (data_defaults).
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


def background(images: Sequence[np.ndarray]) -> tuple[int, float]:
    """The most common 8-bit value of all the images' pixels, and the share of pixels that have it."""
    counts = sum(np.bincount(np.rint(np.clip(im, 0, 1) * 255).astype(np.uint8).ravel(), minlength=256)
                 for im in images)
    return int(np.argmax(counts)), float(counts.max() / counts.sum())


def data_defaults(images: Sequence[np.ndarray], arch_obj: Any) -> dict[str, Any]:
    """What suits images that are mostly one background value: L2, and biases (for an architecture
    with a ``bias`` parameter) where that background is black or white. Under L1 a pixel's best
    estimate is its posterior median, which is the background for faint strokes, where PSNR
    rewards L2's posterior mean; noise clipped at a black or white background is not zero-mean,
    which a bias-free net cannot offset (a unet on digits: +0.2 dB each, examples/README.md)."""
    if not images:
        return {}
    value, share = background(images)
    if share <= SPARSE_SHARE:
        return {}
    found: dict[str, Any] = {"loss": "l2"}
    if value in (0, 255) and any(p.name == "bias" for p in getattr(arch_obj, "params", ())):
        found["arch_params"] = {"bias": True}
    return found


def recipe_defaults(arch_obj: Any, noise: str, images: Sequence[np.ndarray]) -> dict[str, Any]:
    """The architecture's defaults for the corruption over the data's (architecture_defaults, data_defaults)."""
    data, arch = data_defaults(images, arch_obj), architecture_defaults(arch_obj, noise)
    return {**data, **arch, "arch_params": {**data.get("arch_params", {}), **arch.get("arch_params", {})}}
