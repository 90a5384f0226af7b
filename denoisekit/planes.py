"""Stacks as planes: how an array with named axes splits into the 2-D images the restorers see.

Axes are tifffile's letters. ``Y`` and ``X`` are an image's rows and columns; ``S`` the samples
of a pixel: 3 are RGB (one colour image, restored through the colour route), 4 are RGB plus an
alpha kept as it is, any other count is that many channels restored each on its own; ``C``
is a channel axis (fluorescence channels: each restored on its own as a gray image, with its
own normalisation); any other letter (Z, T, Q, I, ...) is a position in the stack.

A *page* is one ``(Y, X, S)`` array of the raw values (S = 1 for gray); a page splits into
*parts* (the colour samples, or one channel), each normalised, restored as the float32
``(H, W, C)`` image in [0, 1] that every restorer takes, and mapped back to raw values.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable, Iterable, Iterator

import numpy as np

from .normalization import Normalization, NormalizeSpec, Statistics, dtype_span

#: A restorer of one part: float32 (H, W, C) in [0, 1] and its (page, part) position -> the same shape.
PlaneFn = Callable[[np.ndarray, tuple[int, int]], np.ndarray]
#: Where a part's normalisation comes from: (index along C, sample).
Key = tuple[int, int]


@dataclass(frozen=True)
class Part:
    """Samples of a page restored together, and the sample that names their normalisation."""

    samples: slice
    channel: int


@dataclass(frozen=True)
class Layout:
    """A stack's shape as pages: ``axes`` end in ``YXS``, the axes before them number the pages."""

    axes: str
    shape: tuple[int, ...]
    color: bool = False  # samples 0-2 are RGB
    kept: tuple[int, ...] = ()  # samples left exactly as they are (alpha)

    @property
    def pages(self) -> int:
        return prod(self.shape[:-3])

    @property
    def page_shape(self) -> tuple[int, int, int]:
        return self.shape[-3], self.shape[-2], self.shape[-1]

    @property
    def channels(self) -> int:
        """Entries of the C axis (1 without one)."""
        return self.shape[self.axes.index("C")] if "C" in self.axes[:-3] else 1

    def parts(self) -> list[Part]:
        start = 3 if self.color else 0
        colour = [Part(slice(0, 3), 0)] if self.color else []
        return colour + [Part(slice(s, s + 1), s) for s in range(start, self.shape[-1]) if s not in self.kept]

    def key(self, page: int, part: Part) -> Key:
        """The normalisation a part of ``page`` uses: one per C entry and per separately restored sample."""
        if self.channels == 1:
            return 0, part.channel
        position = np.unravel_index(page, self.shape[:-3])
        return int(position[self.axes.index("C")]), part.channel

    def keys(self) -> list[Key]:
        return [(c, part.channel) for c in range(self.channels) for part in self.parts()]

    def separate_channels(self) -> int:
        """How many channels are restored each on its own (0: plain gray or one colour image per page)."""
        gray_samples = sum(1 for part in self.parts() if part.samples.stop - part.samples.start == 1)
        colour = 1 if self.color else 0
        count = self.channels * (gray_samples + colour)
        return count if count > 1 and gray_samples else 0

    def describe(self) -> str:
        """``ZYX 5x64x64, 5 planes``: axes, shape and planes, for the report and notes."""
        axes, shape = self.axes, self.shape
        if shape[-1] == 1:  # no samples axis to show
            axes, shape = axes[:-1], shape[:-1]
        planes = self.pages * len(self.parts())
        return f"{axes} {'x'.join(map(str, shape))}, {planes} plane{'s' if planes != 1 else ''}"


def layout_of(shape: tuple[int, ...], axes: str, color: bool | None = None,
              kept: tuple[int, ...] | None = None) -> tuple[Layout, tuple[int, ...]]:
    """The layout of an array of ``shape`` with ``axes`` (e.g. ``ZYX``, ``TCYX``, ``YXS``), and
    the order of axes that transposes it to pages (``layout.axes``). ``color`` and ``kept``
    default to what the samples count says (3: RGB, 4: RGB and alpha)."""
    axes = axes.upper()
    if len(axes) != len(shape):
        raise ValueError(f"axes {axes!r} name {len(axes)} axes, the array has {len(shape)}")
    if len(set(axes)) != len(axes) or "Y" not in axes or "X" not in axes:
        raise ValueError(f"axes {axes!r} must name Y and X, each axis once")
    leading = [i for i, a in enumerate(axes) if a not in "YXS"]
    order = (*leading, axes.index("Y"), axes.index("X")) + ((axes.index("S"),) if "S" in axes else ())
    new_shape = tuple(shape[i] for i in order) + (() if "S" in axes else (1,))
    samples = new_shape[-1]
    if color is None:
        color = samples in (3, 4)
    if kept is None:
        kept = (3,) if color and samples == 4 else ()
    layout = Layout("".join(axes[i] for i in leading) + "YXS", new_shape, color, kept)
    return layout, order


def normalizations(pages: Iterable[np.ndarray], layout: Layout, spec: NormalizeSpec,
                   dtype: np.dtype) -> dict[Key, Normalization]:
    """One pass over the pages: the normalisation of each channel (``dtype`` needs no pass)."""
    spec = spec.resolve(dtype)
    if spec.mode == "dtype":
        low, high = dtype_span(dtype)
        return {key: Normalization(low, high, np.dtype(dtype)) for key in layout.keys()}
    stats = {key: Statistics(need_sample=spec.mode == "percentile") for key in layout.keys()}
    height, width, _ = layout.page_shape
    per_key = layout.pages // layout.channels * height * width
    for index, page in enumerate(pages):
        for part in layout.parts():
            size = part.samples.stop - part.samples.start
            stats[layout.key(index, part)].add(page[..., part.samples], per_key * size)
    return {key: s.normalization(spec, dtype) for key, s in stats.items()}


def restore_page(page: np.ndarray, index: int, layout: Layout, norms: dict[Key, Normalization],
                 fn: PlaneFn) -> np.ndarray:
    """One ``(Y, X, S)`` page of raw values restored part by part, in its own dtype.

    Each part is normalised and clipped to [0, 1] for the restorer; what the clipping cut off
    (values beyond the percentiles) is added back to its result, so no value is lost to the
    clip. Non-finite values are given the part's median for the restorer and kept as they were.
    """
    out = page.copy()
    for number, part in enumerate(layout.parts()):
        raw = page[..., part.samples]
        scaled = norms[layout.key(index, part)].forward(raw)
        bad = ~np.isfinite(scaled) if raw.dtype.kind == "f" else None
        if bad is not None and bad.any():
            finite = scaled[~bad]
            scaled[bad] = np.median(finite) if finite.size else 0.0
        else:
            bad = None
        clipped = np.clip(scaled, 0.0, 1.0)
        restored = np.asarray(fn(clipped, (index, number)), np.float32)
        if restored.shape != clipped.shape:
            raise ValueError(f"the restorer returned shape {restored.shape} for a plane of {clipped.shape} "
                             f"(a stack keeps its channels)")
        scaled -= clipped  # now what the clip cut off
        restored = restored + scaled
        values = norms[layout.key(index, part)].backward(restored)
        if bad is not None:
            values[bad] = raw[bad]
        out[..., part.samples] = values
    return out


def restore_pages(pages: Iterable[np.ndarray], layout: Layout, norms: dict[Key, Normalization],
                  fn: PlaneFn) -> Iterator[np.ndarray]:
    """Each page restored, lazily: a writer pulls one page at a time."""
    for index, page in enumerate(pages):
        yield restore_page(page, index, layout, norms, fn)
