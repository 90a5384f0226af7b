"""Declared plugin parameters and the parsing of ``-p key=value`` options."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

#: Parameter types a plugin may declare. ``range`` is a float that may also be
#: given as ``lo:hi``; the plugin then receives the tuple ``(lo, hi)`` and samples
#: a value per image (blind training over a range of noise levels).
PARAM_TYPES = ("float", "int", "bool", "str", "range")


class ParamError(ValueError):
    """A ``-p key=value`` option that does not fit the plugin's declared parameters."""


@dataclass(frozen=True)
class Param:
    """One declared parameter of a plugin: name, type, default and valid range."""

    name: str
    type: str = "float"
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"parameter {self.name!r}: type must be one of {PARAM_TYPES}, not {self.type!r}")

    def describe(self) -> str:
        """A short human description: ``sigma=25 (range, 0..255)``."""
        bounds = ""
        if self.choices:
            bounds = ", one of " + "|".join(self.choices)
        elif self.min is not None or self.max is not None:
            lo = "" if self.min is None else f"{self.min:g}"
            hi = "" if self.max is None else f"{self.max:g}"
            bounds = f", {lo}..{hi}"
        return f"{self.name}={format_value(self.default)} ({self.type}{bounds})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices else None,
            "help": self.help,
        }

    def parse(self, text: str) -> Any:
        """Convert and validate one value given as text on the command line."""
        try:
            if self.type == "range":
                value = _parse_range(text)
            elif self.type == "float":
                value = float(text)
            elif self.type == "int":
                value = int(text)
            elif self.type == "bool":
                value = _parse_bool(text)
            else:
                value = text
        except ValueError:
            raise ParamError(f"{self.name}={text!r} is not a valid {self.type}") from None
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        """Raise ParamError if ``value`` is outside the declared range or choices."""
        if self.choices and value not in self.choices:
            raise ParamError(f"{self.name}={value!r} must be one of {', '.join(self.choices)}")
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if not math.isfinite(v):  # NaN passes every comparison: it would run on unchecked
                raise ParamError(f"{self.name}={format_value(value)} is not a finite number")
            if (self.min is not None and v < self.min) or (self.max is not None and v > self.max):
                lo = "" if self.min is None else f"{self.min:g}"  # a bound may be declared on one side only
                hi = "" if self.max is None else f"{self.max:g}"
                raise ParamError(f"{self.name}={format_value(value)} is outside {lo}..{hi}")
        if isinstance(value, tuple) and value[0] > value[1]:
            raise ParamError(f"{self.name}={format_value(value)}: the low end is above the high end")


def _parse_range(text: str) -> float | tuple[float, float]:
    if ":" in text:
        lo, hi = text.split(":", 1)
        return (float(lo), float(hi))
    return float(text)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def format_value(value: Any) -> str:
    """Format a parameter value the way it is typed: ranges as ``lo:hi``."""
    if isinstance(value, tuple):
        return ":".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def resolve_params(
    declared: Sequence[Param], given: Mapping[str, str] | Iterable[str], owner: str
) -> dict[str, Any]:
    """Merge ``key=value`` texts into the declared defaults, validated.

    ``given`` is either a mapping of texts or the raw ``key=value`` strings of the
    command line. Unknown keys and invalid values raise ParamError naming ``owner``.
    """
    if not isinstance(given, Mapping):
        given = split_assignments(given)
    by_name = {p.name: p for p in declared}
    values = {p.name: p.default for p in declared}
    for key, text in given.items():
        if key not in by_name:
            known = ", ".join(by_name) or "none"
            raise ParamError(f"{owner} has no parameter {key!r} (its parameters: {known})")
        try:
            values[key] = by_name[key].parse(text)
        except ParamError as err:
            raise ParamError(f"{owner}: {err}") from None
    return values


def split_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["sigma=25", "clip=false"]`` -> ``{"sigma": "25", "clip": "false"}``."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"expected key=value, got {item!r}")
        result[key.strip()] = value.strip()
    return result


def params_to_text(values: Mapping[str, Any]) -> dict[str, str]:
    """The inverse of parsing: values as the texts ``-p`` would take (for metadata)."""
    return {k: format_value(v) for k, v in values.items()}
