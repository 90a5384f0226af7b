"""The per-image work of ``denoisekit clean``: restore, time, and measure each image.

``Cleaner`` is the transform handed to ``batch.process_files``; it returns the
restored image and, as info, the image's report row (figures against its
reference when there is one) and, for HTML reports, small crops.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .batch import FileResult
from .files import InputSet, match_references
from .images import Image, ImageReadError, read_image
from .reports.html import crop_png
from .reports.scores import figures

RestoreFn = Callable[[np.ndarray], np.ndarray]
#: Side of the corner each kind of image (gray, RGB, RGBA) is first restored on, untimed.
WARM_UP_SIDE = 32


class Cleaner:
    """The per-image work: restore, time, and measure against the reference (if any)."""

    def __init__(self, restore: RestoreFn, inputs: InputSet, refs: InputSet | None, crops: bool) -> None:
        self.restore, self.inputs, self.refs, self.crops = restore, inputs, refs, crops
        self.pairs = match_references(refs, inputs) if refs is not None else {}
        self.warmed: set[int] = set()  # channel counts the restorer has seen

    def __call__(self, rel: Path, image: Image) -> tuple[Image, dict[str, Any]]:
        self.warm_up(image.pixels)
        start = time.perf_counter()
        try:
            restored = np.asarray(self.restore(image.pixels), np.float32)
        except Exception as err:  # one image's failure must not stop the others
            raise ValueError(f"{rel}: the restorer failed: {type(err).__name__}: {err}") from err
        seconds = time.perf_counter() - start
        if not restored.flags.writeable:
            restored = restored.copy()
        np.clip(restored, 0.0, 1.0, out=restored)  # in place: a 24-megapixel RGB float image is 288 MB
        height, width, _ = image.pixels.shape
        if restored.ndim != 3 or restored.shape[:2] != (height, width) or restored.shape[2] not in (1, 3):
            raise ValueError(f"{rel}: the restorer returned shape {restored.shape} for an image "
                             f"of {image.pixels.shape}")
        row, crops = self.measure(rel, image.pixels, restored, "written")
        row.update(model=getattr(self.restore, "last_model", None), seconds=seconds,
                   seconds_per_megapixel=seconds / (height * width / 1e6))
        return image.with_pixels(restored), {"row": row, "crops": crops}

    def warm_up(self, pixels: np.ndarray) -> None:
        """Restore a corner first, untimed, once per kind of image (gray, RGB), so the one-off
        cost of loading and tracing its models stays out of the image's seconds per megapixel."""
        if pixels.shape[2] in self.warmed:
            return
        self.warmed.add(pixels.shape[2])
        try:
            self.restore(np.ascontiguousarray(pixels[:WARM_UP_SIDE, :WARM_UP_SIDE]))
        except Exception:  # noqa: BLE001  only a head start: the image's own call reports any error
            pass

    def kept(self, result: FileResult) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Figures of an output left by an earlier run, so a resumed run's report is complete."""
        noisy = read_image(self.inputs.source(result.rel)).pixels
        try:
            restored = read_image(result.target).pixels
        except ImageReadError as err:
            row = self.base_row(result.rel, noisy, "kept")
            row["error"] = f"{result.rel}: existing output unreadable: {err}"
            return row, {}
        return self.measure(result.rel, noisy, restored, "kept")

    def base_row(self, rel: Path, noisy: np.ndarray, status: str) -> dict[str, Any]:
        height, width, channels = noisy.shape
        return {
            "file": rel.as_posix(), "status": status, "model": None, "width": width, "height": height,
            "channels_in": channels, "channels_out": None, "reference": None,
            "seconds": None, "seconds_per_megapixel": None, "input": {}, "output": {}, "error": None,
        }

    def measure(self, rel: Path, noisy: np.ndarray, restored: np.ndarray,
                status: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The report row of one image (figures against its reference, if any) and its HTML crops."""
        row = self.base_row(rel, noisy, status)
        row["channels_out"] = restored.shape[2]
        reference, row["error"] = self.reference_for(rel)
        if reference is not None:
            row["reference"] = self.pairs[rel].as_posix()
        try:
            row.update(figures(noisy, restored, reference))
        except ValueError as err:  # reference of another size
            row.update(figures(noisy, restored, None))
            row["error"], reference = f"{rel}: no PSNR/SSIM: {err}", None
        return row, self.crops_for(noisy, restored, reference)

    def reference_for(self, rel: Path) -> tuple[np.ndarray | None, str | None]:
        """The reference's pixels, or an error line."""
        if self.refs is None:
            return None, None
        ref_rel = self.pairs.get(rel)
        if ref_rel is None:
            return None, f"{rel}: no reference image with that name"
        try:
            return read_image(self.refs.source(ref_rel)).pixels, None
        except ImageReadError as err:
            return None, f"{rel}: reference unreadable: {err}"

    def crops_for(self, noisy: np.ndarray, restored: np.ndarray, reference: np.ndarray | None) -> dict[str, bytes]:
        if not self.crops:
            return {}
        found = {"input": crop_png(noisy), "output": crop_png(restored)}
        if reference is not None:
            found = {"reference": crop_png(reference), **found}
        return found
