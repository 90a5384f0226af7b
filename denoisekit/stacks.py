"""Multi-page and scientific TIFF files (tifffile): read page by page, written back whole.

A stack is read one page at a time as a ``(Y, X, S)`` array of its raw values (``planes.py``
splits pages into the images the restorers see) and written back page by page through
tifffile's ``TiffWriter``, into a temporary file renamed over the target only when every page
is written: with the same dtype, page count, page shape, photometric interpretation, sample
layout, compression (where tifffile can encode it, else deflate), resolution, and the first
page's description verbatim (ImageJ's or the OME-XML) with ImageJ's binary metadata (labels,
ranges, LUTs, ...), so ImageJ, OME and tifffile readers see the same axes and metadata.

Anything that cannot be kept whole (several series, pyramids, pages of another shape, packed
12-bit samples, palette images, a broken page chain) is an ``ImageReadError`` before anything is
written. Plain single-page 8/16-bit TIFFs are not stacks: ``images.py`` reads them as ever.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .images import TIFF_SUFFIXES, ImageReadError, atomic_target
from .normalization import Normalization, NormalizeSpec
from .planes import Key, Layout, PlaneFn, normalizations, restore_pages

#: Compressions tifffile (with imagecodecs) writes; others (JPEG, ...) are rewritten with deflate.
WRITABLE_COMPRESSIONS = (1, 5, 8, 32773, 32946, 34925, 50000)  # none, LZW, deflate, PackBits, zlib, LZMA, zstd
ADOBE_DEFLATE = 8
#: Photometric interpretations whose values are intensities: min-is-white, min-is-black, RGB, CMYK.
INTENSITY_PHOTOMETRICS = (0, 1, 2, 5)
#: ImageJ's binary metadata (the IJMetadata tags) that tifffile parses and can write back.
IMAGEJ_BINARY_KEYS = ("Info", "Labels", "Ranges", "LUTs", "Plot", "ROI", "Overlays", "Properties")
#: ASCII tags of the first page copied as they are: DocumentName, Make, Model, Artist,
#: HostComputer, Copyright.
COPIED_TAGS = (269, 271, 272, 315, 316, 33432)
EXTRASAMPLE_ALPHA = (1, 2)  # associated, unassociated
#: A classic TIFF addresses 4 GiB; beyond a little under that, write a BigTIFF.
BIGTIFF_ABOVE = 2**32 - 2**27


class _CollectOnThisThread(logging.Filter):
    """On the tifffile logger: a warning logged on a thread that is collecting goes to that
    thread's list instead of the log. Per thread, because ``clean`` reads files on several
    threads at once, and a warning about one file must not mark another one damaged."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = getattr(_COLLECTING, "found", None)
        if found is None or record.levelno < logging.WARNING:
            return True
        found.append(record.getMessage())
        return False  # ours to report, in one line


_COLLECTING = threading.local()
_COLLECTOR = _CollectOnThisThread()


@contextmanager
def _warnings_of_tifffile() -> Iterator[list[str]]:
    """tifffile logs a damaged file (a broken page chain, metadata that does not match the pages)
    as warnings and reads on with what it found; collect the ones this thread's reading logs,
    so a damaged stack is not cut short."""
    log = logging.getLogger("tifffile")
    if _COLLECTOR not in log.filters:
        log.addFilter(_COLLECTOR)
    outer = getattr(_COLLECTING, "found", None)
    found: list[str] = []
    _COLLECTING.found = found
    try:
        yield found
    finally:
        _COLLECTING.found = outer


def _damage(path: Path, warnings: list[str]) -> ImageReadError:
    detail = warnings[0].split("> ", 1)[-1]  # tifffile prefixes the object it was reading
    return ImageReadError(f"{path}: damaged or truncated TIFF: {detail.removeprefix('raised ')}")


def is_stack(path: str | os.PathLike) -> bool:
    """Whether a file is read here rather than by ``images.py``: a TIFF with more than one page,
    data other than 8/16-bit integers (1-bit pages, read as 8-bit, excepted), more than 4 samples a
    pixel, ImageJ or OME metadata, or a broken page chain (a stack cut short may look like one
    page). Files tifffile cannot open at all, and single pages with merely odd tags, stay with
    ``images.py`` as before."""
    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES or not path.is_file():
        return False
    import tifffile

    with _warnings_of_tifffile() as warnings:
        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages.first
                count = len(tif.pages)
                plain = (count == 1 and not (tif.is_imagej or tif.is_ome) and page.samplesperpixel <= 4
                         and (page.dtype in (np.uint8, np.uint16) or page.bitspersample == 1))  # bilevel: 0 / 255
        except Exception:  # noqa: BLE001  not a TIFF tifffile can open: images.py says so in one line
            return False
    broken_chain = any(w.startswith("<tifffile.TiffPages") for w in warnings)
    return broken_chain or not plain


class TiffStack:
    """An open TIFF stack: its layout, dtype and metadata, and its pages one at a time.

    ``layout.axes`` are tifffile's series axes with ``YXS`` last (``IYXS`` for a plain multi-page
    file, ``TZCYXS`` for an ImageJ hyperstack, ...); ``page`` is the first page, whose tags
    describe every page."""

    layout: Layout
    dtype: np.dtype

    def __init__(self, path: str | os.PathLike) -> None:
        import tifffile

        self.path = Path(path)
        with _warnings_of_tifffile() as warnings:
            try:
                self.tif = tifffile.TiffFile(self.path)
            except Exception as err:  # noqa: BLE001  tifffile's errors have no common base
                raise ImageReadError(f"{self.path}: not a readable TIFF ({err})") from None
            try:
                self._check()
            except BaseException:
                self.tif.close()
                raise
        if warnings:
            self.tif.close()
            raise _damage(self.path, warnings)

    def _check(self) -> None:
        """Take the file's shape apart, refusing what could not be written back whole."""
        tif, path = self.tif, self.path
        if not tif.pages:
            raise ImageReadError(f"{path}: a TIFF without image pages")
        series = tif.series
        if len(series) != 1 or series[0].is_pyramidal or len(series[0].pages) != len(tif.pages):
            raise ImageReadError(f"{path}: {len(tif.pages)} pages in {len(series)} image series (pages of "
                                 f"different shapes, reduced-resolution or multi-image files) cannot be kept whole")
        self.series = series[0]
        page = self.series.keyframe
        self.page = page
        dtype = np.dtype(page.dtype) if page.dtype is not None else None
        if dtype is None or dtype.kind not in "uif" or dtype == np.bool_:
            raise ImageReadError(f"{path}: unsupported pixel type {dtype} (bilevel or complex data)")
        if page.bitspersample != dtype.itemsize * 8:
            raise ImageReadError(f"{path}: packed {page.bitspersample}-bit samples cannot be written back as such")
        if int(page.photometric) not in INTENSITY_PHOTOMETRICS:
            raise ImageReadError(f"{path}: photometric {page.photometric.name} (values are not intensities, "
                                 f"e.g. palette indices) not supported")
        if page.imagedepth > 1:
            raise ImageReadError(f"{path}: volumetric (SGI ImageDepth) pages not supported")
        axes, shape = self.series.axes, tuple(self.series.shape)
        page_axes, page_shape = page.axes, tuple(page.shape)
        lead = len(shape) - len(page_shape)
        if page_axes not in ("YX", "YXS", "SYX") or lead < 0 or shape[lead:] != page_shape:
            raise ImageReadError(f"{path}: series {axes} {shape} does not split into pages of {page_axes} {page_shape}")
        if prod(shape[:lead]) != len(self.series.pages):  # e.g. a file cut short after its first page
            raise ImageReadError(f"{path}: damaged or truncated TIFF: its metadata describes {prod(shape[:lead])} "
                                 f"pages, the file holds {len(self.series.pages)}")
        samples = 1 if page_axes == "YX" else page_shape[page_axes.index("S")]
        extras = tuple(int(e) for e in (page.extrasamples or ()))
        first_extra = samples - len(extras)
        kept = tuple(first_extra + i for i, e in enumerate(extras) if e in EXTRASAMPLE_ALPHA)
        height, width = page.imagelength, page.imagewidth
        self.layout = Layout(axes[:lead] + "YXS", shape[:lead] + (height, width, samples),
                             color=int(page.photometric) == 2 and samples >= 3, kept=kept)
        self.dtype = dtype

    @property
    def count(self) -> int:
        return len(self.series.pages)

    def pages(self) -> Iterator[np.ndarray]:
        """Each page as a ``(Y, X, S)`` array of its raw values, read when asked for."""
        layout_axes = self.page.axes
        for index in range(self.count):
            with _warnings_of_tifffile() as warnings:
                try:
                    page = self.series.pages[index]
                    data = page.asarray() if page is not None else None
                except Exception as err:  # noqa: BLE001  truncated data, a codec missing, ...
                    raise ImageReadError(f"{self.path}: page {index + 1} of {self.count} unreadable: {err}") from None
            if data is None:
                raise ImageReadError(f"{self.path}: page {index + 1} of {self.count} is missing")
            if warnings:
                raise _damage(self.path, warnings)
            if layout_axes == "YX":
                data = data[..., None]
            elif layout_axes == "SYX":
                data = np.moveaxis(data, 0, -1)
            yield data

    def close(self) -> None:
        self.tif.close()

    def __enter__(self) -> "TiffStack":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_options(stack: TiffStack, target: Path) -> dict:
    """TiffWriter.write arguments that reproduce the stack's pages and metadata."""
    import tifffile

    page, tif = stack.page, stack.tif
    compression = int(page.compression)
    kept_compression = compression in WRITABLE_COMPRESSIONS
    predictor = int(page.predictor) if kept_compression and int(page.predictor) > 1 else None
    samples = stack.layout.shape[-1]
    description = page.description or None
    if description and tif.is_ome and stack.path.name != target.name:
        # The OME-XML names its own file in TiffData/UUID elements; name the copy instead.
        description = description.replace(f'FileName="{stack.path.name}"', f'FileName="{target.name}"')
    options = page_tags(page)
    if tif.is_imagej:
        binary = {k: v for k, v in (tif.imagej_metadata or {}).items() if k in IMAGEJ_BINARY_KEYS}
        if binary:
            options["extratags"] += list(tifffile.imagej_metadata_tag(binary, tif.byteorder))
    options.update({
        "shape": (stack.count, *_stored_shape(page.axes, stack.layout.page_shape)),
        "dtype": stack.dtype,
        "photometric": page.photometric,
        "compression": compression if kept_compression else ADOBE_DEFLATE,
        "predictor": predictor,
        "description": description.encode("utf-8") if description else None,
        "metadata": None,  # no description of tifffile's own: the file's is copied
    })
    if samples > 1:
        options.update(planarconfig=page.planarconfig, extrasamples=page.extrasamples or None)
    return options


def page_tags(page: Any, orientation: bool = True) -> dict[str, Any]:
    """TiffWriter.write arguments for what a TIFF page says about its picture beside the pixels:
    its ICC profile, resolution (a scan's DPI, a micrograph's pixel size), capture time, software,
    the ASCII tags of ``COPIED_TAGS`` (camera, author, copyright) and, with ``orientation``, how
    a viewer turns the pixels (for pixels written as stored, not turned upright)."""
    datetime = page.tags.get(306)
    options: dict[str, Any] = {
        "iccprofile": page.iccprofile,
        "datetime": datetime.value if datetime is not None and len(str(datetime.value)) == 19 else None,
        "software": page.software or False,  # False: not tifffile's own name either
        "extratags": [(code, 2, 0, page.tags[code].value, True) for code in COPIED_TAGS
                      if code in page.tags and isinstance(page.tags[code].value, str)],
    }
    if 282 in page.tags:  # XResolution
        options.update(resolution=page.resolution, resolutionunit=page.resolutionunit)
    turn = page.tags.get(274)
    if orientation and turn is not None and int(turn.value) != 1:
        options["extratags"].append((274, 3, 1, int(turn.value), True))
    return options


def _stored_shape(page_axes: str, page_shape: tuple[int, int, int]) -> tuple[int, ...]:
    height, width, samples = page_shape
    return {"YX": (height, width), "YXS": (height, width, samples), "SYX": (samples, height, width)}[page_axes]


def _as_stored(pages: Iterable[np.ndarray], page_axes: str, byteorder: str) -> Iterator[np.ndarray]:
    """``(Y, X, S)`` pages in the file's page layout and byte order, as TiffWriter takes them."""
    native = "<" if sys.byteorder == "little" else ">"
    for page in pages:
        if page_axes == "YX":
            page = page[..., 0]
        elif page_axes == "SYX":
            page = np.moveaxis(page, -1, 0)
        if byteorder != native and page.dtype.itemsize > 1:
            page = page.astype(page.dtype.newbyteorder(byteorder))
        yield np.ascontiguousarray(page)


def write_stack(stack: TiffStack, pages: Iterable[np.ndarray], target: str | os.PathLike) -> None:
    """Write ``(Y, X, S)`` pages in the stack's dtype as a copy of ``stack`` (metadata and all),
    page by page, atomically: a failure on any page leaves no file and any old one untouched."""
    import tifffile

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    options = _write_options(stack, target)
    size = stack.count * prod(stack.layout.page_shape) * stack.dtype.itemsize
    bigtiff = stack.tif.is_bigtiff or (size > BIGTIFF_ABOVE and not stack.tif.is_imagej)
    if size > BIGTIFF_ABOVE and not bigtiff:
        raise ValueError(f"{stack.path}: an ImageJ stack over 4 GB cannot be written as ImageJ reads it")
    expected = stack.count
    written = 0

    def counted() -> Iterator[np.ndarray]:
        nonlocal written
        for page in _as_stored(pages, stack.page.axes, stack.tif.byteorder):
            written += 1
            yield page

    with atomic_target(target) as temporary:
        with tifffile.TiffWriter(temporary, bigtiff=bigtiff, byteorder=stack.tif.byteorder,
                                 imagej=False, ome=False, shaped=False) as writer:
            writer.write(counted(), **options)
        if written != expected:  # never rename a short stack into place
            raise ValueError(f"{stack.path}: {written} of {expected} pages restored")


@dataclass
class StackResult:
    """What ``transform_stack`` did: the stack's layout, dtype and normalisation per channel."""

    layout: Layout
    dtype: np.dtype
    spec: NormalizeSpec  # the concrete mode used (never ``auto``)
    norms: dict[Key, Normalization]


def transform_stack(source: str | os.PathLike, target: str | os.PathLike, fn: PlaneFn,
                    spec: NormalizeSpec = NormalizeSpec()) -> StackResult:
    """Every plane of the TIFF stack ``source`` through ``fn``, written to ``target``: one pass for
    the normalisation statistics (none for ``dtype``), one to restore and write, a page at a time."""
    with TiffStack(Path(source)) as stack:
        norms = normalizations(stack.pages(), stack.layout, spec, stack.dtype)
        write_stack(stack, restore_pages(stack.pages(), stack.layout, norms, fn), target)
        return StackResult(stack.layout, stack.dtype, spec.resolve(stack.dtype), norms)
