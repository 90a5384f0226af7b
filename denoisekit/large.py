"""Images larger than memory: a TIFF or zarr array restored chunk by chunk with ``dask.array.map_overlap``.

The image is read lazily in ``chunk`` x ``chunk`` blocks, each with a halo of at least the
restorer's receptive field (``ModelRestore.chunked``: the models' radius, plus what a colorization's
chroma filter or a salt-and-pepper fill adds), on its models' grid. Inside a block the model runs
tiled as usual, its tiles overlapping by twice that radius, and the halo is cut away, so every
pixel is computed with all the context it depends on: the result equals restoring the image whole
(``tiled_apply`` with the same overlap, or one model call) to float rounding. At the image's
edges there is no halo (``boundary="none"``): the model sees the real border, as it does whole.

Output is written a band of chunks at a time: a TIFF as 256 x 256 tiles (BigTIFF past 4 GB), with
the input's dtype, colour, compression (where writable, else deflate) and resolution; a zarr array
chunk by chunk. Either appears under its name only when complete. Memory is a few chunks plus one
band of output, whatever the image's size. 8- and 16-bit gray, RGB and RGBA (alpha kept) only.

    >>> from denoisekit import restore_large
    >>> restore_large("slide.tif", "slide-clean.tif", chunk=2048)                 # bundled Gaussian models
    >>> restore_large("survey.zarr", "survey-clean.zarr", model="salt-and-pepper")
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from math import ceil
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np


#: Default chunk side: a 2048 x 2048 chunk with its halo is ~5 MP; a few in flight stay well under 2 GB.
DEFAULT_CHUNK = 2048
#: Tile side of the TIFFs written (a multiple of 16, as TIFF requires).
TIFF_TILE = 256
ZARR_SUFFIX = ".zarr"

RestoreFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class LargeResult:
    """What ``restore_large`` did."""

    shape: tuple[int, int, int]  # input (height, width, channels)
    channels_out: int
    chunk: int
    halo: int  # pixels of context read around each chunk
    seconds: float
    model: str | None = None


def is_zarr(path: str | os.PathLike) -> bool:
    """A zarr array store (a folder with zarr's metadata), v2 or v3."""
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in ("zarr.json", ".zarray"))


# ----------------------------------------------------------------------------- reading

class TiffRegion:
    """A single-page TIFF as a lazily read ``(H, W, S)`` array: indexing decodes only the strips
    or tiles a region touches (``dask.array.from_array`` reads each chunk this way)."""

    def __init__(self, path: str | os.PathLike) -> None:
        import tifffile

        from .images import ImageReadError

        self.path = Path(path)
        try:
            with tifffile.TiffFile(self.path) as tif:
                page = tif.pages.first
                count = len(tif.pages)
                self.dtype = np.dtype(page.dtype) if page.dtype is not None else None
                height, width, samples = page.imagelength, page.imagewidth, page.samplesperpixel
                photometric, self.separate = int(page.photometric), int(page.planarconfig) == 2
                self.options = _tiff_options(page)
        except Exception as err:  # noqa: BLE001  tifffile's errors have no common base
            raise ImageReadError(f"{self.path}: not a readable TIFF ({err})") from None
        if count != 1 or page.imagedepth > 1:
            raise ImageReadError(f"{self.path}: {count} pages: only single images are restored in chunks")
        if self.dtype not in (np.uint8, np.uint16) or page.bitspersample != self.dtype.itemsize * 8:
            raise ImageReadError(f"{self.path}: {page.bitspersample}-bit {self.dtype} data: chunks take 8- or 16-bit")
        if photometric not in (1, 2) or samples not in (1, 3, 4):
            raise ImageReadError(f"{self.path}: {samples} samples, photometric {page.photometric.name}: chunks take "
                                 f"gray, RGB or RGBA")
        self.shape = (height, width, samples)
        self.ndim = 3
        # The segments the last read decoded: chunks side by side share strips (a file stored as
        # one strip, tifffile's default, has one), which were decoded again for each chunk.
        self._decoded: dict[int, tuple[np.ndarray, int, int, int] | None] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:  # a lock does not pickle; a copy starts with no segments
        return {**self.__dict__, "_decoded": {}, "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        rows, cols, samples = (list(key) + [slice(None)] * 3)[:3]
        height, width, count = self.shape
        y0, y1, _ = rows.indices(height)
        x0, x1, _ = cols.indices(width)
        out = np.zeros((max(0, y1 - y0), max(0, x1 - x0), count), self.dtype)
        if out.size == 0:
            return out[:, :, samples]
        for found in self._segments_for(y0, y1, x0, x1):
            if found is None:  # an empty segment: zeros, as tifffile reads it
                continue
            segment, channel, top, left = found
            ya, yb = max(y0, top), min(y1, top + segment.shape[0])
            xa, xb = max(x0, left), min(x1, left + segment.shape[1])
            if ya < yb and xa < xb:
                out[ya - y0:yb - y0, xa - x0:xb - x0, channel:channel + segment.shape[2]] = \
                    segment[ya - top:yb - top, xa - left:xb - left]
        return out[:, :, samples]

    def _segments_for(self, y0: int, y1: int, x0: int, x1: int) -> list[tuple[np.ndarray, int, int, int] | None]:
        """The decoded strips or tiles over a region (segment, first channel, top, left), those the
        last read decoded reused; only these are kept for the next read."""
        import tifffile

        with self._lock:
            with tifffile.TiffFile(self.path) as tif:
                page = tif.pages.first
                indices = _segments(page, y0, y1, x0, x1, self.shape[2] if self.separate else 1)
                kept = {i: self._decoded[i] for i in indices if i in self._decoded}
                todo = [i for i in indices if i not in kept]
                offsets = [page.dataoffsets[i] for i in todo]
                counts = [page.databytecounts[i] for i in todo]
                for data, index in tif.filehandle.read_segments(offsets, counts, todo):
                    segment, (sample, _, top, left, first), _ = page.decode(data, index, jpegtables=page.jpegtables)
                    kept[index] = None if segment is None else (segment[0], sample + first, top, left)
            self._decoded = kept
            return [kept[i] for i in indices]


def _segments(page: Any, y0: int, y1: int, x0: int, x1: int, planes: int) -> list[int]:
    """Indices of the strips or tiles holding rows ``[y0, y1)`` and columns ``[x0, x1)``."""
    height, width = page.imagelength, page.imagewidth
    if page.is_tiled:
        tile_h, tile_w = page.tilelength, page.tilewidth
    else:
        tile_h, tile_w = min(page.rowsperstrip or height, height), width
    across, down = ceil(width / tile_w), ceil(height / tile_h)
    inner = [r * across + c for r in range(y0 // tile_h, (y1 - 1) // tile_h + 1)
             for c in range(x0 // tile_w, (x1 - 1) // tile_w + 1)]
    return [plane * across * down + i for plane in range(planes) for i in inner]


def _tiff_options(page: Any) -> dict[str, Any]:
    """TiffWriter.write arguments that keep the page's colour, compression and resolution."""
    from .stacks import ADOBE_DEFLATE, WRITABLE_COMPRESSIONS, page_tags

    compression = int(page.compression)
    kept = compression in WRITABLE_COMPRESSIONS
    options = page_tags(page)
    options.update({
        "photometric": page.photometric,
        "compression": compression if kept else ADOBE_DEFLATE,
        "predictor": int(page.predictor) if kept and int(page.predictor) > 1 else None,
    })
    if page.extrasamples:
        options["extrasamples"] = page.extrasamples
    return options  # chunks are restored as stored: the orientation tag still says how to show them


def open_lazy(path: str | os.PathLike, chunk: int) -> tuple[Any, dict[str, Any]]:
    """An image file as a dask array ``(H, W, C)`` of its raw values in ``chunk`` x ``chunk``
    blocks, and how to write a copy of it (TIFF options; empty for zarr)."""
    import dask.array as da

    from .images import ImageReadError

    path = Path(path)
    if is_zarr(path):
        array = da.from_zarr(str(path))
        if array.ndim == 2:
            array = array[..., None]
        if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
            raise ImageReadError(f"{path}: a zarr array of shape {array.shape}: chunks take (H, W) or (H, W, C) "
                                 f"with 1, 3 or 4 channels")
        if array.dtype not in (np.uint8, np.uint16):
            raise ImageReadError(f"{path}: {array.dtype} data: chunks take 8- or 16-bit")
        return array.rechunk((chunk, chunk, -1)), {}
    region = TiffRegion(path)
    return da.from_array(region, chunks=(chunk, chunk, -1), asarray=False, fancy=False,
                         name=f"denoisekit-read-{path.name}-{os.stat(path).st_mtime_ns}"), region.options


# ----------------------------------------------------------------------------- restoring

def restore_dask(array: Any, restore: RestoreFn, halo: int, multiple: int = 1) -> Any:
    """``restore`` over a dask array ``(H, W, C)`` of 8/16-bit values (or floats in [0, 1]), chunk by
    chunk with ``halo`` pixels of context a side (``map_overlap``); lazily, in the input's dtype. The chunks must be
    multiples of ``multiple`` (the models' grid) but for the last; alpha (a 4th channel) is kept.
    A gray image whose restoration is RGB (a colorization) is made RGB first."""
    import dask.array as da

    from .images import to_integers

    if halo % multiple:
        raise ValueError(f"the halo ({halo}) must be a multiple of {multiple}")
    side = -(-max(array.chunks[0][0], array.chunks[1][0], halo, multiple) // multiple) * multiple
    array = array.rechunk({0: aligned_chunks(array.shape[0], side, halo),
                           1: aligned_chunks(array.shape[1], side, halo), 2: -1})
    floats = array.dtype.kind == "f"  # taken as [0, 1], returned as such
    top = 1 if floats else np.iinfo(array.dtype).max
    probe = restore(np.zeros((2 * multiple, 2 * multiple, min(array.shape[2], 3)), np.float32))
    if array.shape[2] == 1 and probe.shape[-1] == 3:
        array = da.repeat(array, 3, axis=2)

    def block(raw: np.ndarray) -> np.ndarray:
        pixels = raw[..., :3].astype(np.float32)
        pixels /= np.float32(top)  # as images.read_image scales
        restored = np.asarray(restore(pixels), np.float32)
        # Rounded and clipped as images.write_image does, or clipped as clean's Cleaner does.
        out = np.clip(restored, 0.0, 1.0) if floats else to_integers(restored, raw.dtype)
        return np.concatenate([out, raw[..., 3:]], axis=2) if raw.shape[2] == 4 else out

    # An axis of one chunk needs no context from neighbours (a banner thinner than the halo).
    depth = {axis: halo if len(array.chunks[axis]) > 1 else 0 for axis in (0, 1)}
    return da.map_overlap(block, array, depth={**depth, 2: 0}, boundary="none", trim=True,
                          dtype=array.dtype, meta=np.empty((0, 0, 0), array.dtype))


def aligned_chunks(length: int, side: int, halo: int) -> tuple[int, ...]:
    """Chunks of ``side`` over ``length``, every one starting on the models' grid (``side`` is a
    multiple of it); a last one shorter than the halo joins the one before (map_overlap needs
    chunks at least as deep as the halo, and moving boundaries would leave the grid)."""
    sizes = [side] * (length // side) + ([length % side] if length % side else [])
    if len(sizes) > 1 and sizes[-1] < halo:
        sizes[-2:] = [sizes[-2] + sizes[-1]]
    return tuple(sizes)


def restore_large(source: str | os.PathLike, target: str | os.PathLike, *, restorer: str | Any = "model",
                  chunk: int = DEFAULT_CHUNK, overwrite: bool = False, num_workers: int | None = None,
                  **params: Any) -> LargeResult:
    """Restore a TIFF or zarr image of any size into ``target`` (``.tif``/``.tiff`` or ``.zarr``)
    in ``chunk`` x ``chunk`` blocks, memory bounded by the chunk size, not the image's.

    ``restorer``: ``"model"`` with its parameters (``model="gaussian"``, ``tile=...``), or a
    ``ModelRestore`` made once and reused. The result equals restoring the image whole (see the
    module's docstring). ``num_workers``: chunks restored at once (threads; default 1, as the
    model already uses every core).
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists (pass overwrite=True to replace it)")
    if isinstance(restorer, str):
        from .arrays import make_restorer

        restorer = make_restorer(restorer, **params)
    elif params:
        raise ValueError("params go with a restorer's name, not with a made restorer")
    return restore_file(Path(source), target, restorer, chunk, num_workers)


def restore_file(source: Path, target: Path, restore: Any, chunk: int = DEFAULT_CHUNK,
                 num_workers: int | None = None) -> LargeResult:
    """``restore_large`` with a made restorer (``clean --chunk`` calls this per file)."""
    import dask

    if not callable(getattr(restore, "chunked", None)):
        raise ValueError("only the model restorer restores images in chunks")
    array, options = open_lazy(source, chunk)
    height, width, channels = array.shape
    exact, halo, multiple = restore.chunked(min(channels, 3), image=array)
    side = max(-(-chunk // multiple) * multiple, halo, multiple)
    result = restore_dask(array.rechunk((side, side, -1)), exact, halo, multiple)
    start = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=num_workers or 1):
        if target.suffix.lower() == ZARR_SUFFIX:
            _write_zarr(result, target)
        else:
            _write_tiff(_bands(result), target, result.shape, result.dtype, options)
    seconds = time.perf_counter() - start
    return LargeResult((height, width, channels), result.shape[2], side, halo, seconds,
                       getattr(exact, "last_model", None))


# ----------------------------------------------------------------------------- writing

def _bands(result: Any) -> Iterator[np.ndarray]:
    """The result one row of chunks at a time, computed as asked for."""
    start = 0
    for rows in result.chunks[0]:
        yield np.asarray(result[start:start + rows].compute())
        start += rows


def _tiles(bands: Iterable[np.ndarray], width: int, tile: int) -> Iterator[np.ndarray]:
    """Bands of full-width rows as TIFF tiles in row-major order, edge tiles zero-padded."""
    carry: np.ndarray | None = None
    for band in bands:
        rows = band if carry is None else np.concatenate([carry, band])
        full = rows.shape[0] // tile * tile
        for top in range(0, full, tile):
            yield from _row_of_tiles(rows[top:top + tile], width, tile)
        carry = rows[full:]
    if carry is not None and carry.shape[0]:
        yield from _row_of_tiles(carry, width, tile)


def _row_of_tiles(rows: np.ndarray, width: int, tile: int) -> Iterator[np.ndarray]:
    for left in range(0, width, tile):
        piece = rows[:, left:left + tile]
        if piece.shape[:2] != (tile, tile):
            padded = np.zeros((tile, tile, rows.shape[2]), rows.dtype)
            padded[:piece.shape[0], :piece.shape[1]] = piece
            piece = padded
        yield np.ascontiguousarray(piece)


def _write_tiff(bands: Iterable[np.ndarray], target: Path, shape: tuple[int, ...], dtype: np.dtype,
                options: dict[str, Any]) -> None:
    """A tiled TIFF from bands of rows, written atomically."""
    import tifffile

    from .images import atomic_target
    from .photo_files import profile_fits
    from .stacks import BIGTIFF_ABOVE

    height, width, channels = shape
    options = dict(options)
    if channels == 3 and int(options.get("photometric", 2)) == 1:  # a gray image colorized
        options.update(photometric="rgb", extrasamples=None)
    if not profile_fits(options.get("iccprofile"), 3 if channels >= 3 else 1):  # e.g. a gray profile
        options["iccprofile"] = None
    options.setdefault("photometric", "rgb" if channels >= 3 else "minisblack")
    target.parent.mkdir(parents=True, exist_ok=True)
    stored = (height, width) if channels == 1 else (height, width, channels)
    bigtiff = height * width * channels * np.dtype(dtype).itemsize > BIGTIFF_ABOVE
    tiles = _tiles(bands, width, TIFF_TILE)
    if channels == 1:
        tiles = (t[..., 0] for t in tiles)
    with atomic_target(target) as temporary, tifffile.TiffWriter(temporary, bigtiff=bigtiff) as writer:
        writer.write(tiles, shape=stored, dtype=dtype, tile=(TIFF_TILE, TIFF_TILE), planarconfig="contig",
                     metadata=None, **options)


def _write_zarr(result: Any, target: Path) -> None:
    """A zarr array written chunk by chunk into a hidden folder, renamed into place when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        shutil.rmtree(temporary)
        result.to_zarr(str(temporary))
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
