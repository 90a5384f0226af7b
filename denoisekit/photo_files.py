"""What a photo file says beyond its pixels, read and written back: the EXIF orientation that
turns a phone's sideways-stored pixels upright, and the ICC colour profile (a phone's Display P3)
without which a viewer shows the pixels as sRGB. ``images.py`` decodes and encodes the pixels
with OpenCV, which turns only TIFFs upright and writes no profile; Pillow reads the header here.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np

#: Formats whose EXIF orientation OpenCV's unchanged decoding leaves to us (its TIFF decoder
#: applies the tag itself).
EXIF_UNAPPLIED = (".jpg", ".jpeg", ".png", ".webp")
#: EXIF orientation (1-8) -> what makes the stored pixels upright, as a viewer shows them.
_ORIENTATIONS = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def read_header(path: Path) -> tuple[int, bytes | None]:
    """An image file's EXIF orientation (1, upright, where there is none: phones store a portrait
    photo's pixels sideways with the tag saying how to turn them) and its ICC colour profile."""
    from PIL import Image as PILImage  # reads the header only

    try:
        with warnings.catch_warnings():  # its decompression-bomb guard: we decode nothing here
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as image:
                if image.format == "PNG":  # its getexif() decodes the whole image for a late eXIf
                    exif = PILImage.Exif()
                    exif.load(image.info.get("exif", b""))  # a tag before the pixels, as photos have it
                else:
                    exif = image.getexif()
                return int(exif.get(0x0112, 1)), image.info.get("icc_profile") or None
    except Exception:  # a format Pillow cannot parse (or a bomb it refuses) carries nothing it could read
        return 1, None


def upright(raw: np.ndarray, orientation: int) -> np.ndarray:
    """``raw`` (H, W[, C]) turned as EXIF ``orientation`` says a viewer shows it (a contiguous copy
    where it moves); ``clean`` then writes the pixels upright, without the tag, as they looked."""
    turn = _ORIENTATIONS.get(orientation)
    return np.ascontiguousarray(turn(raw)) if turn else raw


def profile_fits(icc: bytes | None, channels: int) -> bool:
    """Whether an ICC profile describes pixels of this many channels: its colour space (bytes
    16-19 of its header) is RGB for 3, gray for 1; a CMYK JPEG's profile, say, does not describe
    the RGB that OpenCV decodes it to."""
    return bool(icc) and len(icc) >= 20 and icc[16:20] == (b"RGB " if channels == 3 else b"GRAY")


#: The most profile bytes one JPEG APP2 segment holds (65535 less its length, name and numbering).
_JPEG_ICC_CHUNK = 65519


def with_icc_profile(data: bytes, suffix: str, icc: bytes | None) -> bytes:
    """Encoded JPEG or PNG ``data`` with the colour profile ``icc`` embedded, as the ICC
    specification and the PNG standard place it (OpenCV writes none); other formats unchanged."""
    if not icc:
        return data
    if suffix in (".jpg", ".jpeg"):
        # APP2 "ICC_PROFILE" segments, numbered, after the SOI and the JFIF APP0 OpenCV writes.
        chunks = [icc[i:i + _JPEG_ICC_CHUNK] for i in range(0, len(icc), _JPEG_ICC_CHUNK)]
        if len(chunks) > 255:
            return data
        segments = b"".join(b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(chunk)) + b"ICC_PROFILE\0"
                            + bytes((number, len(chunks))) + chunk for number, chunk in enumerate(chunks, 1))
        at = 2
        if data[2:4] == b"\xff\xe0":  # JFIF stays the first segment
            at = 4 + struct.unpack(">H", data[4:6])[0]
        return data[:at] + segments + data[at:]
    if suffix == ".png":
        # an iCCP chunk right after IHDR (signature 8 bytes, IHDR 25), before any pixel data
        body = b"iCCP" + b"ICC profile\0\0" + zlib.compress(icc)
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return data[:33] + chunk + data[33:]
    return data
