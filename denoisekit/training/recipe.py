"""What a run trains with where the user does not say: first the architecture's declared
defaults for the corruption (loss, biases, augmentation: ``Architecture.training_defaults``),
then the data's (augmentation), then the toolkit's (L1, 96-pixel patches)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..params import ParamError
from .augment import default_augment

DEFAULT_LOSS = "l1"
DEFAULT_PATCH = 96


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


def default_patch(fixed_size: tuple[int, int] | None) -> int:
    """A fixed-size model's own size, else DEFAULT_PATCH."""
    return min(fixed_size) if fixed_size is not None else DEFAULT_PATCH


def choose(given: str | None, defaults: Mapping[str, Any], key: str, fallback: str) -> str:
    """The user's value, else the architecture's default, else ``fallback``."""
    return given if given is not None else str(defaults.get(key, fallback))


def choose_augment(given: str | None, defaults: Mapping[str, Any],
                   image_shapes: Sequence[tuple[int, ...]], patch: int) -> str:
    """``--augment``, else the architecture's default, else what suits the data (augment.default_augment)."""
    return choose(given, defaults, "augment", default_augment(image_shapes, patch))
