"""Per-page figures of TIFF stacks, reading one page of each stack at a time.

PSNR/SSIM compare a page with the reference's page in the data's own units, with scikit-image's
``data_range`` set to the span of the data: the integer type's full scale under the ``dtype``
normalisation (8/16-bit data: 255 or 65535, as for ordinary images), else the reference stack's
own finite maximum minus minimum (float and 32-bit data, whose type says nothing of its range).
Samples kept as they were (alpha) are left out; non-finite values count as equal. The noise
level (sigma, 0-255) is estimated on the normalised scale the restorer saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from ..metrics import mean, psnr, ssim
from ..noise_level import estimate_sigma
from ..normalization import Normalization, NormalizeSpec, Statistics, dtype_span
from ..planes import Key, Layout, normalizations
from ..stacks import TiffStack
from . import paired_figures

#: The figures a page row holds per side, as an image row's.
SIDES = ("input", "output")


@dataclass
class StackFigures:
    """Figures of each page, the data range PSNR used, an error line, and middle-page views for crops."""

    pages: list[dict[str, Any]] = field(default_factory=list)
    data_range: float | None = None
    error: str | None = None
    views: dict[str, np.ndarray] = field(default_factory=dict)  # role -> float (H, W, 1|3) in [0, 1]

    def means(self) -> dict[str, dict[str, float]]:
        """Each figure's mean over the pages, per side, both sides over the same pages: those where
        both are finite (a page identical to its reference, infinite PSNR on the input side, leaves
        the output's page out too, as an image row's means do). Where every page of both sides is
        identical to its reference, PSNR is infinite, as for an identical image."""
        keys = {k for page in self.pages for side in SIDES for k in page[side]}
        out: dict[str, dict[str, float]] = {side: {} for side in SIDES}
        for k in sorted(keys):
            both = paired_figures(self.pages, k)  # pages have an image row's input and output
            for i, side in enumerate(SIDES):
                if both:
                    out[side][k] = mean(pair[i] for pair in both)
                else:
                    values = [p[side][k] for p in self.pages if p[side].get(k) is not None]
                    out[side][k] = float("inf") if values and all(v == float("inf") for v in values) else mean(values)
        return out


def data_span(stack: TiffStack, spec: NormalizeSpec) -> float:
    """PSNR's ``data_range`` for data like ``stack``'s: the type's full scale, or the stack's own span."""
    if spec.resolve(stack.dtype).mode == "dtype":
        low, high = dtype_span(stack.dtype)
        return high - low
    stats = Statistics(need_sample=False)
    for page in stack.pages():
        stats.add(page, 0)
    span = stats.high - stats.low if stats.seen else 0.0
    return span if span > 0 else 1.0


def same_shape(stack: TiffStack, other: TiffStack) -> str | None:
    """Why ``other`` cannot be compared with ``stack`` page by page, or None."""
    if other.count != stack.count or other.layout.page_shape != stack.layout.page_shape:
        return f"{other.layout.describe()}, not {stack.layout.describe()}"
    return None


def restored_samples(layout: Layout) -> list[int]:
    return [s for s in range(layout.shape[-1]) if s not in layout.kept]


def compare_pages(reference: np.ndarray, test: np.ndarray, span: float) -> dict[str, float]:
    """PSNR and SSIM of one page against its reference page, in the data's units."""
    reference, test = reference.astype(np.float64), test.astype(np.float64)
    bad = ~(np.isfinite(reference) & np.isfinite(test))
    if bad.any():
        reference[bad] = test[bad] = 0.0
    return {"psnr": psnr(reference, test, data_range=span), "ssim": ssim(reference, test, data_range=span)}


def _normalised(page: np.ndarray, index: int, layout: Layout, norms: dict[Key, Normalization]) -> list[np.ndarray]:
    """The page's parts on the restorer's scale (non-finite values as 0)."""
    return [np.nan_to_num(norms[layout.key(index, part)].forward(page[..., part.samples]), nan=0.0,
                          posinf=0.0, neginf=0.0) for part in layout.parts()]


def _sigma(parts: list[np.ndarray]) -> float:
    return float(np.mean([estimate_sigma(part) for part in parts]))


def stack_figures(noisy: TiffStack, restored: TiffStack, reference: TiffStack | None, spec: NormalizeSpec,
                  norms: dict[Key, Normalization] | None = None, views: bool = False) -> StackFigures:
    """Figures of every page of ``restored`` (and of ``noisy``, its input), against ``reference``'s pages
    when given; ``norms``: the normalisation the restoration used (recomputed from ``noisy`` if None)."""
    layout = noisy.layout
    if same_shape(noisy, restored) is not None:
        raise ValueError(f"{restored.path}: the output is {same_shape(noisy, restored)}")
    result = StackFigures()
    if reference is not None and same_shape(noisy, reference) is not None:
        result.error = f"the reference is {same_shape(noisy, reference)}: no PSNR/SSIM"
        reference = None
    if norms is None:
        norms = normalizations(noisy.pages(), layout, spec, noisy.dtype)
    if reference is not None:
        result.data_range = data_span(reference, spec)
    keep = restored_samples(layout)
    middle = noisy.count // 2
    references = reference.pages() if reference is not None else repeat(None)
    for index, (before, after, truth) in enumerate(zip(noisy.pages(), restored.pages(), references)):
        parts = {"input": _normalised(before, index, layout, norms), "output": _normalised(after, index, layout, norms)}
        row: dict[str, Any] = {"page": index + 1}
        for side, page in (("input", before), ("output", after)):
            row[side] = {"sigma": _sigma(parts[side])}
            if truth is not None:
                row[side].update(compare_pages(truth[..., keep], page[..., keep], result.data_range))
        result.pages.append(row)
        if views and index == middle:
            result.views = {side: np.clip(parts[side][0], 0.0, 1.0) for side in SIDES}
            if truth is not None:
                result.views["reference"] = np.clip(_normalised(truth, index, layout, norms)[0], 0.0, 1.0)
    return result


def compare_stacks(reference: TiffStack, test: TiffStack) -> list[dict[str, float]]:
    """PSNR/SSIM of each page of ``test`` against ``reference`` (``denoisekit metrics``), on the
    range the ``auto`` normalisation implies: full scale for 8/16-bit data, else the reference's span."""
    problem = same_shape(reference, test)
    if problem is not None:
        raise ValueError(f"{test.path}: {problem} as the reference")
    span = data_span(reference, NormalizeSpec())
    keep = restored_samples(reference.layout)
    return [compare_pages(truth[..., keep], page[..., keep], span)
            for truth, page in zip(reference.pages(), test.pages())]
