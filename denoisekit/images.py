"""Image files <-> float32 arrays: the only place that knows about dtypes, bit depth, alpha and BGR.

Everything past this edge sees one representation: float32 (H, W, C) in [0, 1],
C = 1 (gray) or 3 (RGB). Alpha is carried beside the pixels, untouched, and
re-attached on writing; the file's format and bit depth are kept, and its orientation and
colour profile and EXIF (``photo_files.py``). Arrays given from
Python (``image_from_array``, ``image_to_array``) take the same road: what a file holds,
as an array. TIFF stacks and scientific TIFFs (several pages, float data, ImageJ/OME
metadata) are ``stacks.py``'s.
"""

from __future__ import annotations

import os
import struct
import tempfile
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .photo_files import (PNG_SIGNATURE, PhotoMetadata, encode_tiff, png_chunk, read_header, tiff_metadata, upright,
                          with_metadata)

_QUIET = {"lock": threading.Lock(), "readers": 0, "level": None}


@contextmanager
def _opencv_silent() -> Iterator[None]:
    """OpenCV's own log lines off while a file is decoded (an unreadable file is reported in our
    one line, not with a decoder's), and back to the caller's level after the last reader."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    with _QUIET["lock"]:
        if not _QUIET["readers"]:
            _QUIET["level"] = logging.getLogLevel()
            logging.setLogLevel(logging.LOG_LEVEL_SILENT)
        _QUIET["readers"] += 1
    try:
        yield
    finally:
        with _QUIET["lock"]:
            _QUIET["readers"] -= 1
            if not _QUIET["readers"]:
                logging.setLogLevel(_QUIET["level"])


#: Extensions read and written (lower case, with the dot).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
#: Image formats cameras and phones write that are not read (HEIC: iPhones; raw: cameras).
UNREAD_IMAGE_SUFFIXES = (".heic", ".heif", ".avif", ".jxl", ".gif", ".dng", ".cr2", ".cr3", ".nef", ".arw",
                         ".orf", ".rw2", ".raf")
#: Formats that can hold 16 bits per channel; others are written as 8-bit.
SIXTEEN_BIT_SUFFIXES = (".png", ".tif", ".tiff")
TIFF_SUFFIXES = (".tif", ".tiff")
JPEG_QUALITY = 95
#: JPEG files: lossy (noise written into one changes), and without alpha (an image with alpha,
#: a misnamed PNG say, is written without it).
JPEG_SUFFIXES = (".jpg", ".jpeg")
_UMASK = os.umask(0)
os.umask(_UMASK)


class ImageReadError(Exception):
    """A file that is not a readable image; the message names the file."""


@dataclass
class Image:
    """Decoded image: float pixels in [0, 1] plus what is needed to write it back the same way."""

    pixels: np.ndarray  # float32 (H, W, C), C in (1, 3), RGB
    dtype: np.dtype  # uint8 or uint16 of the file (an array's: also float, values in [0, 1])
    alpha: np.ndarray | None = None  # (H, W) in the file's dtype, untouched
    path: Path | None = None
    flat: bool = False  # from a 2-D array (gray without a channel axis): goes back as one
    photo: PhotoMetadata | None = None  # the file's colour profile and EXIF, written back with it

    @property
    def channels(self) -> int:
        return self.pixels.shape[-1]

    @property
    def bit_depth(self) -> int:
        return 8 * np.dtype(self.dtype).itemsize

    @property
    def max_value(self) -> int:
        return int(np.iinfo(self.dtype).max)

    def with_pixels(self, pixels: np.ndarray) -> "Image":
        """The same image (dtype, alpha, path) with new pixels; gray or RGB."""
        return replace(self, pixels=np.asarray(pixels, np.float32))


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | os.PathLike) -> Image:
    """Read PNG/JPEG/TIFF/BMP/WebP, 8- or 16-bit, gray or RGB with or without alpha, turned
    upright by its EXIF orientation as viewers show it."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    from .stacks import is_stack  # tifffile only for TIFFs

    if is_stack(path):  # OpenCV would read its first page only, or refuse float data
        raise ImageReadError(f"{path}: a TIFF stack or scientific TIFF (several pages, float or 32-bit data, "
                             f"ImageJ/OME metadata): only clean, corrupt and metrics read these, page by page")
    # imdecode from bytes: imread cannot open some non-ASCII paths on every platform.
    data = np.fromfile(str(path), dtype=np.uint8)
    tiff = is_tiff_data(data[:4].tobytes())  # by content: a file may be misnamed
    raw, alpha_stored, photo = _read_tiff_page(path) if tiff else (None, True, None)
    if raw is None:
        with _opencv_silent():
            raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if raw is None:
        raise ImageReadError(f"{path}: not a readable image")
    if not tiff:  # OpenCV's TIFF decoder turns the pixels itself; the others leave it to us
        orientation, photo = read_header(path)
        raw = upright(raw, orientation)
    if raw.ndim == 3 and raw.shape[2] == 4 and not alpha_stored:  # a CMYK TIFF decoded with a made-up alpha
        raw = raw[..., :3]
    elif raw.ndim == 3 and raw.shape[2] == 4 and data[:8].tobytes() == PNG_SIGNATURE and data[25] == 4:
        raw = raw[..., [0, 3]]  # a gray-and-alpha PNG, which OpenCV decodes as BGRA (B = G = R)
    if raw.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"{path}: unsupported pixel type {raw.dtype} (8- or 16-bit integers only)")
    alpha = None
    if raw.ndim == 2:
        color = raw[..., None]
    elif raw.shape[2] == 1:
        color = raw
    elif raw.shape[2] == 2:  # gray and alpha
        color, alpha = raw[..., :1].copy(), raw[..., 1].copy()
    elif raw.shape[2] == 3:
        color = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    elif raw.shape[2] == 4:
        color, alpha = cv2.cvtColor(raw[..., :3], cv2.COLOR_BGR2RGB), raw[..., 3].copy()
    else:
        raise ImageReadError(f"{path}: unsupported channel count {raw.shape[2]}")
    pixels = color.astype(np.float32)
    pixels /= np.iinfo(raw.dtype).max  # in place: one float copy of a big photo, not two
    return Image(pixels=pixels, dtype=raw.dtype, alpha=alpha, path=path, photo=photo)


def is_tiff_data(head: bytes) -> bool:
    """Whether a file's first 4 bytes are a TIFF's (classic or BigTIFF, either byte order)."""
    return head in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")


def _read_tiff_page(path: Path) -> tuple[np.ndarray | None, bool, PhotoMetadata | None]:
    """A single-page TIFF, opened once: what OpenCV would read wrong, read whole and upright,
    else None; whether a 4th channel OpenCV decodes is stored alpha (a CMYK file's is made up);
    and its profile and tags to write back (``tiff_metadata``). Read here: a gray-and-alpha
    file's ``(H, W, 2)`` samples (OpenCV reads 8-bit gray, dropping alpha and half of a 16-bit
    sample) and an RGB file with unassociated alpha, as BGRA like OpenCV's (OpenCV multiplies
    8-bit colour by alpha: half-transparent pixels came back half as bright)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            alpha_stored, photo = bool(page.extrasamples), tiff_metadata(page)
            photometric = int(page.photometric)
            gray_alpha = page.samplesperpixel == 2 and photometric in (0, 1)
            rgb_alpha = page.samplesperpixel == 4 and photometric == 2 and tuple(page.extrasamples)[:1] == (2,)
            if not (gray_alpha or rgb_alpha) or page.dtype not in (np.uint8, np.uint16):
                return None, alpha_stored, photo
            raw = page.asarray()
            orientation = int(page.tags[274].value) if 274 in page.tags else 1
    except Exception:  # noqa: BLE001  tifffile's errors have no common base: OpenCV has its say
        return None, True, None
    if int(page.planarconfig) == 2:  # separate planes
        raw = np.moveaxis(raw, 0, -1)
    if rgb_alpha:
        raw = raw[..., [2, 1, 0, 3]]
    elif photometric == 0:  # min-is-white
        raw = np.dstack([np.iinfo(raw.dtype).max - raw[..., 0], raw[..., 1]])
    return upright(raw, orientation), alpha_stored, photo


#: Array dtypes ``image_from_array`` takes: what ``read_image`` reads from files, and floats in [0, 1].
ARRAY_DTYPES = ("uint8", "uint16", "float16", "float32", "float64")
#: An array's channel count (last axis) -> what it holds.
ARRAY_CHANNELS = {1: "gray", 2: "gray + alpha", 3: "RGB", 4: "RGBA"}


#: Float pixels this far past 0 or 1 are arithmetic's rounding (1 + 1e-12), clipped, not refused.
FLOAT_SLACK = 1e-6


def image_from_array(array: np.ndarray) -> Image:
    """An image array as an ``Image``, checked: uint8, uint16 or float in [0, 1]; (H, W) or
    (H, W, C) with C = 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. The pixels are a copy.

    Raises TypeError for another pixel type and ValueError for another shape, an empty image
    or float values outside [0, 1] (a uint8 image cast to float would otherwise be read as
    almost white)."""
    if isinstance(array, np.ma.MaskedArray):  # numpy's arithmetic would skip the masked pixels
        raise TypeError("a masked array: fill its masked pixels first (array.filled(value)), or pass array.data "
                        "to restore them too")
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    if array.dtype.name not in ARRAY_DTYPES:
        raise TypeError(f"pixel type {array.dtype} is not an image's: pass uint8 (0-255), uint16 (0-65535) "
                        f"or float in [0, 1] (e.g. array.astype(np.uint8) for 8-bit values)")
    shape = array.shape
    if array.ndim not in (2, 3) or (array.ndim == 3 and shape[2] not in ARRAY_CHANNELS):
        hint = ""
        if array.ndim == 3 and shape[0] in ARRAY_CHANNELS:
            hint = "; channels first? pass np.moveaxis(image, 0, -1)"
        elif array.ndim > 3:
            hint = "; a stack of images? use denoisekit.restore_array(data, axes)"
        raise ValueError(f"expected an image of shape (H, W) or (H, W, C) with C 1 (gray), 2 (gray + alpha), "
                         f"3 (RGB) or 4 (RGBA), got shape {shape}{hint}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"the image is empty (shape {shape})")
    full = array if array.ndim == 3 else array[..., None]
    color, alpha = (full[..., :-1], full[..., -1].copy()) if full.shape[2] in (2, 4) else (full, None)
    if array.dtype.kind == "f":
        low, high = float(np.min(color)), float(np.max(color))
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ValueError("the image has NaN or infinite values")
        if low < -FLOAT_SLACK or high > 1.0 + FLOAT_SLACK:
            raise ValueError(f"float pixels must lie in [0, 1], these span {low:.9g}..{high:.9g}: clip them "
                             f"(np.clip(image, 0, 1)), or pass 8-bit values as uint8")
        pixels = np.clip(color, 0.0, 1.0).astype(np.float32)  # a copy, whatever the input's float type
    else:
        pixels = color.astype(np.float32)
        pixels /= np.iinfo(array.dtype).max
    return Image(pixels=pixels, dtype=array.dtype, alpha=alpha, flat=array.ndim == 2)


def image_to_array(image: Image) -> np.ndarray:
    """The inverse of ``image_from_array``: the image's pixels in its dtype (integers rounded,
    floats clipped to [0, 1]) with its alpha after them, and without a channel axis if it came
    without one and is still gray."""
    dtype = np.dtype(image.dtype)
    if dtype.kind == "f":
        values = np.clip(image.pixels, 0.0, 1.0).astype(dtype, copy=False)
    else:
        values = to_integers(image.pixels, dtype)
    if image.alpha is not None:
        values = np.concatenate([values, image.alpha[..., None].astype(dtype, copy=False)], axis=-1)
    elif image.flat and values.shape[-1] == 1:
        values = values[..., 0]
    return values


def to_integers(pixels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Float [0, 1] -> rounded integers of ``dtype`` (clipped)."""
    top = np.iinfo(dtype).max
    scaled = np.asarray(pixels, np.float32) * np.float32(top)
    np.rint(scaled, out=scaled)  # in place: one temporary float copy, not three
    np.clip(scaled, 0, top, out=scaled)
    return scaled.astype(dtype)


def stored_values(pixels: np.ndarray, dtype: np.dtype = np.uint8) -> np.ndarray:
    """Float [0, 1] pixels as a file of integer ``dtype`` stores them (clipped, rounded), back as
    float32 in [0, 1]: what a later read of that lossless file gives."""
    return to_integers(pixels, dtype).astype(np.float32) / np.float32(np.iinfo(dtype).max)


def as_stored(image: Image, suffix: str) -> np.ndarray:
    """The image's float pixels as a file of ``suffix`` stores them, what a later read gives back
    (so reports measure the written file, and a resumed run's figures are the same): rounded to
    its integer type, and for a JPEG through its lossy encoding too."""
    if suffix.lower() in JPEG_SUFFIXES:  # the bytes encode_image writes, decoded
        decoded = cv2.imdecode(np.frombuffer(encode_image(image, suffix), np.uint8), cv2.IMREAD_UNCHANGED)
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB) if decoded.ndim == 3 else decoded[..., None]
        return decoded[..., :image.channels].astype(np.float32) / np.float32(255)  # gray + alpha: written as RGB
    return stored_values(image.pixels, image.dtype if suffix.lower() in SIXTEEN_BIT_SUFFIXES else np.uint8)


def encode_image(image: Image, suffix: str) -> bytes:
    """Encode to the bytes of a file of the given suffix, keeping bit depth and alpha where it can."""
    suffix = suffix.lower()
    dtype = image.dtype if suffix in SIXTEEN_BIT_SUFFIXES else np.uint8
    pixels = to_integers(image.pixels, dtype)
    # TIFFs with a profile or tags (OpenCV drops them), or gray with alpha (OpenCV makes it RGBA)
    as_tiff = suffix in TIFF_SUFFIXES and (image.photo is not None or (image.alpha is not None and image.channels == 1))
    if image.alpha is not None:
        alpha = image.alpha
        if alpha.dtype != dtype:  # e.g. 16-bit alpha into an 8-bit-only format
            alpha = to_integers(alpha.astype(np.float32) / np.iinfo(alpha.dtype).max, dtype)
        if image.channels == 1 and not (as_tiff or suffix == ".png"):  # OpenCV writes alpha with colour only
            pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
        pixels = np.dstack([pixels, alpha])
    if as_tiff:
        return encode_tiff(pixels, image.photo or PhotoMetadata(), image.channels)
    if suffix == ".png" and pixels.shape[-1] == 2:
        return with_metadata(_gray_alpha_png(pixels), suffix, image.photo, image.channels)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 3:  # OpenCV's channel order
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    params: list[int] = []
    if suffix in JPEG_SUFFIXES:
        params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    elif suffix == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101]  # above 100 = lossless
    ok, buffer = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise OSError(f"OpenCV could not encode a {suffix} image")
    return with_metadata(buffer.tobytes(), suffix, image.photo, image.channels)


def _gray_alpha_png(samples: np.ndarray) -> bytes:
    """``(H, W, 2)`` gray and alpha, 8- or 16-bit, as a PNG of colour type 4 (OpenCV writes
    gray with alpha as RGBA): rows under PNG's Sub filter, deflated."""
    height, width, _ = samples.shape
    rows = samples.astype(samples.dtype.newbyteorder(">")).view(np.uint8).reshape(height, -1)
    step = 2 * samples.dtype.itemsize  # bytes per pixel
    filtered = rows.copy()
    filtered[:, step:] -= rows[:, :-step]  # each byte less the one a pixel before, modulo 256
    body = np.hstack([np.ones((height, 1), np.uint8), filtered])  # filter type 1 (Sub) on each row
    header = struct.pack(">IIBBBBB", width, height, 8 * samples.dtype.itemsize, 4, 0, 0, 0)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(body.tobytes(), 6))
            + png_chunk(b"IEND", b""))


def write_image(image: Image, path: str | os.PathLike) -> None:
    """Write atomically (temporary file in the same folder, then rename): an
    interrupted run never leaves a half-written image behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = encode_image(image, path.suffix)
    write_bytes_atomic(data, path)


def write_bytes_atomic(data: bytes, path: Path) -> None:
    """Write bytes to ``path`` through a temporary file and an atomic rename."""
    with atomic_target(path) as temporary:
        temporary.write_bytes(data)


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """A hidden temporary file beside ``path`` to write; renamed over ``path`` when the block
    succeeds, removed when it fails, so ``path`` is never half-written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_gray(pixels: np.ndarray) -> np.ndarray:
    """RGB -> (H, W, 1) luma (BT.601, as OpenCV); gray stays as it is."""
    if pixels.shape[-1] == 1:
        return pixels
    return cv2.cvtColor(np.ascontiguousarray(pixels, np.float32), cv2.COLOR_RGB2GRAY)[..., None]


def has_color(pixels: np.ndarray) -> bool:
    """Whether an image's channels differ (by more than one 8-bit step): not gray stored as RGB."""
    return pixels.shape[-1] == 3 and float(np.ptp(pixels - pixels[..., :1])) > 1 / 255


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Gray -> RGB by repeating the channel; RGB stays as it is."""
    return pixels if pixels.shape[-1] == 3 else np.repeat(pixels, 3, axis=-1)


def center_crop(image: np.ndarray, size: int, multiple: int = 1) -> np.ndarray:
    """The central ``size`` x ``size`` region (smaller if the image is), cut to a multiple; a view."""
    h, w = image.shape[:2]
    ch = min(size, h) // multiple * multiple
    cw = min(size, w) // multiple * multiple
    top, left = (h - ch) // 2, (w - cw) // 2
    return image[top:top + ch, left:left + cw]
