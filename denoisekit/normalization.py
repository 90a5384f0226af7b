"""Scaling scientific data into the models' [0, 1] and back: the documented normalisations.

The models were trained on [0, 1] images. Data in other units (float TIFFs, 32-bit integers)
is mapped there by an affine ``(x - low) / (high - low)`` and mapped back after restoring,
so outputs keep the input's dtype and units (docs/scientific.md):

- ``dtype``: the integer type's full scale (0-255, 0-65535: exactly what ``images.py`` does
  for ordinary files); floats are taken as already in [0, 1];
- ``range``: the data's own finite minimum and maximum (nothing falls outside [0, 1]);
- ``percentile``: CSBDeep's ``normalize``: the 1st and 99.8th percentiles (or ``percentile:LOW,HIGH``)
  become 0 and 1, so a few hot pixels or stars do not squeeze the rest into a sliver of the range;
- ``auto`` (default): ``dtype`` for 8- and 16-bit integers, ``percentile`` for everything else.

Statistics come from one pass over the data, plane by plane: exact minimum and maximum, and
percentiles of up to ``SAMPLE_SIZE`` values per channel drawn evenly at random (all values
when there are fewer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MODES = ("auto", "dtype", "range", "percentile")
#: CSBDeep's ``normalize`` defaults (pmin=1, pmax=99.8).
DEFAULT_PERCENTILES = (1.0, 99.8)
#: Values kept per channel for the percentiles: exact up to this many, an estimate from this
#: many evenly drawn values above (a few hundred values lie beyond the 99.8th percentile).
SAMPLE_SIZE = 1 << 18
#: Integer types the ``auto`` mode leaves on their full scale, as ordinary image files.
FULL_SCALE_TYPES = (np.uint8, np.uint16)


@dataclass(frozen=True)
class NormalizeSpec:
    """What ``--normalize`` asked for: a mode and, for ``percentile``, the two percentiles."""

    mode: str = "auto"
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES

    def resolve(self, dtype: np.dtype) -> "NormalizeSpec":
        """``auto`` made concrete for data of ``dtype``."""
        if self.mode != "auto":
            return self
        full = np.dtype(dtype).type in FULL_SCALE_TYPES
        return NormalizeSpec("dtype" if full else "percentile", self.percentiles)

    def __str__(self) -> str:
        if self.mode == "percentile":
            return f"percentile:{self.percentiles[0]:g},{self.percentiles[1]:g}"
        return self.mode


def parse_normalize(text: str) -> NormalizeSpec:
    """``auto``, ``dtype``, ``range``, ``percentile`` or ``percentile:LOW,HIGH`` (0 <= LOW < HIGH <= 100)."""
    mode, _, rest = text.strip().lower().partition(":")
    if mode not in MODES or (rest and mode != "percentile"):
        raise ValueError(f"normalize must be one of {', '.join(MODES)} or percentile:LOW,HIGH, not {text!r}")
    if not rest:
        return NormalizeSpec(mode)
    try:
        low, high = (float(v) for v in rest.split(","))
    except ValueError:
        raise ValueError(f"percentile:LOW,HIGH needs two numbers, not {rest!r}") from None
    if not 0 <= low < high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= LOW < HIGH <= 100, not {low:g},{high:g}")
    return NormalizeSpec(mode, (low, high))


@dataclass(frozen=True)
class Normalization:
    """One affine map of raw values onto the models' scale: ``low`` -> 0, ``high`` -> 1."""

    low: float
    high: float
    dtype: np.dtype  # of the raw data, restored on the way back

    def forward(self, raw: np.ndarray) -> np.ndarray:
        """Raw values -> float32 on the models' scale (not clipped; non-finite values stay so)."""
        if self.low == 0 and raw.dtype.itemsize <= 2:
            scaled = raw.astype(np.float32)  # exact in float32; for 8/16-bit data, what images.py does
            scaled /= np.float32(self.high)
            return scaled
        return ((raw.astype(np.float64) - self.low) / (self.high - self.low)).astype(np.float32)

    def backward(self, scaled: np.ndarray) -> np.ndarray:
        """Float values on the models' scale -> raw values of ``dtype`` (integers rounded and clipped)."""
        dtype = np.dtype(self.dtype)
        values = scaled.astype(np.float64) * (self.high - self.low) + self.low
        if dtype.kind in "ui":
            info = np.iinfo(dtype)
            np.rint(values, out=values)
            np.clip(values, info.min, info.max, out=values)
        elif dtype.kind == "f":
            finite = np.finfo(dtype).max  # float16 tops out at 65504: clip rather than overflow
            np.clip(values, -finite, finite, out=values)
        return values.astype(dtype)

    def to_json(self) -> dict[str, float]:
        return {"low": float(self.low), "high": float(self.high)}


def dtype_span(dtype: np.dtype) -> tuple[float, float]:
    """The full scale of an integer type, or [0, 1] for floats."""
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    if dtype.kind == "f":
        return 0.0, 1.0
    raise ValueError(f"unsupported pixel type {dtype}")


@dataclass
class Statistics:
    """Running finite minimum and maximum of one channel, and a sample of its values."""

    need_sample: bool
    size: int = SAMPLE_SIZE
    low: float = np.inf
    high: float = -np.inf
    seen: int = 0
    samples: list[np.ndarray] = field(default_factory=list)

    def add(self, values: np.ndarray, expected_total: int) -> None:
        """Take in one plane's values; ``expected_total``: how many this channel will see in all,
        so the sample is spread over every plane, not filled by the first ones."""
        flat = values.reshape(-1)
        if flat.dtype.kind == "f":
            flat = flat[np.isfinite(flat)]
        if not flat.size:
            return
        self.low = min(self.low, float(flat.min()))
        self.high = max(self.high, float(flat.max()))
        self.seen += flat.size
        if self.need_sample:
            if expected_total > self.size:  # a fixed seed: the same file always gets the same figures
                keep = max(1, round(flat.size * self.size / expected_total))
                rng = np.random.default_rng(self.seen)
                flat = flat[rng.integers(0, flat.size, keep)]
            self.samples.append(flat.astype(np.float64))

    def normalization(self, spec: NormalizeSpec, dtype: np.dtype) -> Normalization:
        """The map ``spec`` asks for, from what was seen (all non-finite or constant data: a unit span)."""
        if spec.mode == "dtype":
            low, high = dtype_span(dtype)
        elif self.seen == 0:
            low, high = 0.0, 1.0
        elif spec.mode == "range":
            low, high = self.low, self.high
        else:
            low, high = (float(v) for v in np.percentile(np.concatenate(self.samples), spec.percentiles))
        if not high > low:
            high = low + 1.0
        return Normalization(low, high, np.dtype(dtype))
