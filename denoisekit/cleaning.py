"""The per-image work of ``denoisekit clean``: restore, time, and measure each image.

``Cleaner`` is the transform handed to ``batch.process_files``; it returns the
restored image and, as info, the image's report row (figures against its
reference when there is one) and, for HTML reports, small crops. Small images of
one shape can go through ``Cleaner.transform_group`` together, when the restorer
takes several at once (``restore_many``). TIFF stacks go through ``Cleaner.stack``:
every plane through the same restorer, one report row per stack with its figures per page.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .batch import FileResult
from .files import InputSet, match_references
from .images import JPEG_SUFFIXES, Image, ImageReadError, as_stored, read_image
from .normalization import Normalization, NormalizeSpec
from .planes import Key
from .plugins import PluginCallError
from .reports.html import crop_png
from .reports.scores import figures
from .reports.stack_scores import stack_figures
from .stacks import TIFF_SUFFIXES, TiffStack, is_stack, transform_stack

RestoreFn = Callable[[np.ndarray], np.ndarray]
#: The note for images restored in chunks (``clean --chunk``).
CHUNK_NOTE = ("images restored in chunks of {chunk} px (--chunk) have no PSNR/SSIM/noise figures: "
              "they are never read whole")
#: Side of the corner each kind of image (gray, RGB, RGBA) is first restored on, untimed.
WARM_UP_SIDE = 32


def restore_pixels(restore: RestoreFn, pixels: np.ndarray) -> np.ndarray:
    """One image (H, W, C) in [0, 1] through a restorer: its output, checked and clipped to [0, 1].
    ``clean`` does this to every image, ``denoisekit.denoise`` to its array."""
    return checked_output(np.asarray(restore(pixels), np.float32), pixels)


def many_limit(restore: RestoreFn, shape: tuple[int, ...]) -> int:
    """How many images of ``shape`` (H, W, C) a restorer takes in one call of its optional
    ``restore_many(images) -> restorations`` (its ``many_limit(shape)``); 1 when it has not both,
    or when its limit fails (each image's own call then says why)."""
    limit = getattr(restore, "many_limit", None)
    if not callable(limit) or not callable(getattr(restore, "restore_many", None)):
        return 1
    try:
        return max(1, int(limit(tuple(shape))))
    except Exception:  # noqa: BLE001  only a speed-up: without it the images go one by one
        return 1


def checked_output(restored: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """A restorer's float32 output clipped to [0, 1] (in place where it can), or a ValueError
    when it is not an image of the input's height and width, gray or RGB."""
    if not restored.flags.writeable:
        restored = restored.copy()
    np.clip(restored, 0.0, 1.0, out=restored)  # in place: a 24-megapixel RGB float image is 288 MB
    height, width, _ = pixels.shape
    if restored.ndim != 3 or restored.shape[:2] != (height, width) or restored.shape[2] not in (1, 3):
        raise ValueError(f"the restorer returned shape {restored.shape} for an image of {pixels.shape}")
    return restored


class Cleaner:
    """The per-image work: restore, time, and measure against the reference (if any)."""

    def __init__(self, restore: RestoreFn, inputs: InputSet, refs: InputSet | None, crops: bool,
                 normalize: NormalizeSpec = NormalizeSpec(), chunk: int | None = None, group: bool = True) -> None:
        self.restore, self.inputs, self.refs, self.crops = restore, inputs, refs, crops
        self.group = group  # small images of one shape restored together, where the restorer can
        self.normalize = normalize  # how stacks' data is scaled for the restorer
        self.chunk = chunk  # single-page TIFFs restored in chunks of this side (large.py), else None
        self.pairs = match_references(refs, inputs) if refs is not None else {}
        self.warmed: set[int] = set()  # channel counts the restorer has seen
        self.notes: list[str] = []  # what was done to stacks, for the user
        self._chunkable: dict[Path, bool] = {}  # TIFFs ``chunked`` has looked at

    def __call__(self, rel: Path, image: Image) -> tuple[Image, dict[str, Any]]:
        self.warm_up(image.pixels)
        restored, seconds = self.restored(rel, image.pixels)
        return self.finished(rel, image, restored, seconds)

    def group_limit(self, image: Image) -> int:
        """How many images of this one's pixel shape ``transform_group`` takes at once (1: one by one)."""
        return many_limit(self.restore, image.pixels.shape) if self.group else 1

    def transform_group(self, items: Sequence[tuple[Path, Image]]) -> list[tuple[Image, dict[str, Any]] | Exception]:
        """Images of one pixel shape through one call of the restorer's ``restore_many``, each
        then stored and measured as ``__call__`` does (the same outputs and rows); per image, its
        result or the error it alone raised. When the call fails, each image is restored on its
        own, so one bad image fails alone."""
        pixels = [image.pixels for _, image in items]
        self.warm_up(pixels[0])
        start = time.perf_counter()
        try:
            restored = self.restore.restore_many(pixels)
            if len(restored) != len(pixels):
                raise ValueError(f"restore_many returned {len(restored)} images for {len(pixels)}")
        except Exception:  # noqa: BLE001  each image's own call says what failed, and for which file
            return [_outcome(self, rel, image) for rel, image in items]
        # The images went through the model together: each is given an even share of the time.
        seconds = (time.perf_counter() - start) / len(items)
        return [_outcome(self._finished_one, rel, image, out, seconds) for (rel, image), out in zip(items, restored)]

    def _finished_one(self, rel: Path, image: Image, restored: np.ndarray,
                      seconds: float) -> tuple[Image, dict[str, Any]]:
        return self.finished(rel, image, self.checked(rel, np.asarray(restored, np.float32), image.pixels), seconds)

    def finished(self, rel: Path, image: Image, restored: np.ndarray,
                 seconds: float) -> tuple[Image, dict[str, Any]]:
        """A restored image as its file will store it, and its report row and crops."""
        height, width, _ = image.pixels.shape
        # measured as the file stores it, so a resumed run's figures for it are the same
        stored = as_stored(image.with_pixels(restored), rel.suffix)
        row, crops = self.measure(rel, image.pixels, stored, "written")
        row.update(model=getattr(self.restore, "last_model", None), seconds=seconds,
                   seconds_per_megapixel=seconds / (height * width / 1e6))
        jpeg = rel.suffix.lower() in JPEG_SUFFIXES
        if image.alpha is not None and jpeg:
            self.notes.append(f"{rel}: a {rel.suffix} file holds no alpha: written without its transparency")
        # A JPEG is encoded once, from the restoration (``stored`` is already its decoded encoding).
        return image.with_pixels(restored if jpeg else stored), {"row": row, "crops": crops}

    def restored(self, rel: Path, pixels: np.ndarray) -> tuple[np.ndarray, float]:
        """One image (or stack plane) through the restorer, clipped to [0, 1], and the seconds it took."""
        start = time.perf_counter()
        try:
            restored = np.asarray(self.restore(pixels), np.float32)
        except PluginCallError:
            raise  # names the plugin; the batch adds the file
        except Exception as err:  # one image's failure must not stop the others
            raise ValueError(f"{rel}: the restorer failed: {type(err).__name__}: {err}") from err
        seconds = time.perf_counter() - start
        return self.checked(rel, restored, pixels), seconds

    @staticmethod
    def checked(rel: Path, restored: np.ndarray, pixels: np.ndarray) -> np.ndarray:
        """``checked_output``, its error naming the file."""
        try:
            return checked_output(restored, pixels)
        except ValueError as err:
            raise ValueError(f"{rel}: {err}") from None

    def whole(self, source: Path) -> bool:
        """Whether a file is read and written by ``stack`` (a TIFF stack, or a TIFF restored in
        chunks) rather than read whole as an image."""
        return is_stack(source) or self.chunked(source)

    def chunked(self, source: Path) -> bool:
        """A single-page TIFF that chunks can take, or a zarr array, with chunks asked for:
        restored by ``large.py``. Other TIFFs are restored whole, with a note saying why."""
        if self.chunk is None:
            return False
        from .large import TiffRegion, is_zarr

        if is_zarr(source):
            return True
        if source.suffix.lower() not in TIFF_SUFFIXES or is_stack(source):
            return False
        if source not in self._chunkable:
            try:
                TiffRegion(source)
                self._chunkable[source] = True
            except ImageReadError as err:
                self._chunkable[source] = False
                self.notes.append(f"{err}; restored whole")
        return self._chunkable[source]

    def stack(self, rel: Path, source: Path, target: Path) -> dict[str, Any]:
        """A TIFF stack restored plane by plane into ``target``, and its report row (figures per page);
        a single-page TIFF in chunks when ``chunk`` is set."""
        if self.chunked(source):
            return self.large(rel, source, target)
        seconds = 0.0

        def plane(pixels: np.ndarray, where: tuple[int, int]) -> np.ndarray:
            nonlocal seconds
            self.warm_up(pixels)
            restored, took = self.restored(rel, pixels)
            seconds += took
            return restored

        try:
            done = transform_stack(source, target, plane, self.normalize)
        except ValueError as err:
            if str(err).startswith(f"{rel}:"):  # the restorer's errors name the file already
                raise
            raise ValueError(f"{rel}: {err}") from err
        channels = done.layout.separate_channels()
        if channels:
            note = f"{rel}: {channels} channels, each restored on its own"
            self.notes.append(note)
        row, crops = self.stack_row(rel, source, target, "written", done.norms)
        height, width, _ = done.layout.page_shape
        row.update(model=getattr(self.restore, "last_model", None), seconds=seconds,
                   seconds_per_megapixel=seconds / (done.layout.pages * height * width / 1e6))
        return {"row": row, "crops": crops}

    def large(self, rel: Path, source: Path, target: Path) -> dict[str, Any]:
        """A single-page TIFF (or zarr array) restored in chunks, in bounded memory; its report row
        has no figures: they would need the whole image in memory."""
        from .large import restore_file

        try:
            done = restore_file(source, target, self.restore, self.chunk or 0)
        except (ValueError, ImageReadError) as err:
            raise ValueError(f"{rel}: {err}") from err
        except OSError:
            raise
        except Exception as err:  # the restorer's own failure, raised inside dask: one file's, not the run's
            raise ValueError(f"{rel}: the restorer failed: {type(err).__name__}: {err}") from err
        note = CHUNK_NOTE.format(chunk=done.chunk)
        if note not in self.notes:
            self.notes.append(note)
        height, width, channels = done.shape
        row = self.base_row(rel, (height, width, channels), "written")
        row.update(model=done.model, channels_out=done.channels_out, seconds=done.seconds,
                   seconds_per_megapixel=done.seconds / (height * width / 1e6))
        return {"row": row, "crops": {}}

    def stack_row(self, rel: Path, source: Path, target: Path, status: str,
                  norms: dict[Key, Normalization] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The report row of a stack and its output (figures per page and their means) and its crops."""
        reference_path, error = None, None
        if self.refs is not None:
            ref_rel = self.pairs.get(rel)
            reference_path = self.refs.source(ref_rel) if ref_rel is not None else None
            error = None if ref_rel is not None else f"{rel}: no reference image with that name"
        with ExitStack() as opened:
            noisy = opened.enter_context(TiffStack(source))
            try:
                output = opened.enter_context(TiffStack(target))
            except ImageReadError as err:
                row = self.stack_base_row(rel, noisy, status)
                row["error"] = f"{rel}: output unreadable: {err}"
                return row, {}
            reference = None
            if reference_path is not None:
                try:
                    reference = opened.enter_context(TiffStack(reference_path))
                except ImageReadError as err:
                    error = f"{rel}: reference unreadable: {err}"
            row = self.stack_base_row(rel, noisy, status)
            try:
                found = stack_figures(noisy, output, reference, self.normalize, norms, views=self.crops)
            except ValueError as err:  # an output of another shape, left by an earlier run
                row["error"] = f"{rel}: existing output: {err}"
                return row, {}
        if found.error is not None:
            error, reference = f"{rel}: {found.error}", None
        if reference is not None:
            row["reference"] = self.pairs[rel].as_posix()
        row.update(found.means(), data_range=found.data_range, page_figures=found.pages, error=error)
        crops = {}
        if self.crops and found.views:
            crops = {role: crop_png(found.views[role]) for role in ("reference", "input", "output")
                     if role in found.views}
        return row, crops

    def stack_base_row(self, rel: Path, stack: TiffStack, status: str) -> dict[str, Any]:
        height, width, samples = stack.layout.page_shape
        row = self.base_row(rel, (height, width, samples), status)
        spec = self.normalize.resolve(stack.dtype)
        row.update(channels_out=samples, pages=stack.count, axes=stack.layout.describe(), dtype=str(stack.dtype),
                   normalization=str(spec))
        return row

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
        source = self.inputs.source(result.rel)
        if self.chunked(source):  # never read whole: its row says what the file is, without figures
            from .large import open_lazy

            try:
                height, width, channels = open_lazy(source, self.chunk or 1)[0].shape
            except ImageReadError as err:
                row = self.base_row(result.rel, (0, 0, 0), "kept")
                row["error"] = f"{result.rel}: {err}"
                return row, {}
            return self.base_row(result.rel, (height, width, channels), "kept"), {}
        if is_stack(source):
            return self.stack_row(result.rel, source, result.target, "kept")
        noisy = read_image(source).pixels
        try:
            restored = read_image(result.target).pixels
        except ImageReadError as err:
            row = self.base_row(result.rel, noisy.shape, "kept")
            row["error"] = f"{result.rel}: existing output unreadable: {err}"
            return row, {}
        return self.measure(result.rel, noisy, restored, "kept")

    def base_row(self, rel: Path, shape: tuple[int, ...], status: str) -> dict[str, Any]:
        height, width, channels = shape
        return {
            "file": rel.as_posix(), "status": status, "model": None, "width": width, "height": height,
            "channels_in": channels, "channels_out": None, "reference": None,
            "seconds": None, "seconds_per_megapixel": None, "input": {}, "output": {}, "error": None,
        }

    def measure(self, rel: Path, noisy: np.ndarray, restored: np.ndarray,
                status: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The report row of one image (figures against its reference, if any) and its HTML crops."""
        row = self.base_row(rel, noisy.shape, status)
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


def _outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, or the exception it raised (``batch.process_files`` reports it for that file alone)."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001  handed back, re-raised by the caller where it was expected
        return err
