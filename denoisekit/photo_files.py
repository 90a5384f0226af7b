"""What a photo file says beyond its pixels, read and written back: the EXIF orientation that
turns a phone's sideways-stored pixels upright, and the ICC colour profile (a phone's Display P3)
without which a viewer shows the pixels as sRGB, and the rest of the EXIF block (camera, capture
time, by which photo libraries sort). ``images.py`` decodes and encodes the pixels
with OpenCV, which turns only TIFFs upright and writes no profile; Pillow reads the header here.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

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


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo file carries beside its pixels that ``clean`` and ``corrupt`` write back."""

    icc: bytes | None = None  # the ICC colour profile
    exif: bytes | None = None  # the EXIF block (TIFF-structured, "II*"/"MM*"), its orientation set to upright
    tiff: dict | None = None  # a TIFF's own tags (resolution, camera, time...) as TiffWriter.write arguments
    png: bytes | None = None  # a PNG's chunks of PNG_KEPT_CHUNKS (pixel size, colour space, text), verbatim
    jfif_density: tuple[int, int, int] | None = None  # a JPEG's JFIF density: unit (1 inch, 2 cm), x, y


#: The first bytes of a PNG file; its colour type is byte 25 (in the IHDR chunk).
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG chunks copied as they are: physical pixel size (DPI), the colour space where there is no
#: ICC profile (sRGB, gamma, chromaticities) and text (title, author, description, ...).
PNG_KEPT_CHUNKS = (b"pHYs", b"sRGB", b"gAMA", b"cHRM", b"tEXt", b"zTXt", b"iTXt")


def read_header(path: Path) -> tuple[int, PhotoMetadata | None]:
    """An image file's EXIF orientation (1, upright, where there is none: phones store a portrait
    photo's pixels sideways with the tag saying how to turn them) and the metadata to write back.
    Not for TIFFs, whose tags are the file itself (:func:`tiff_metadata`)."""
    from PIL import Image as PILImage  # reads the header only

    try:
        with warnings.catch_warnings():  # its decompression-bomb guard (we decode nothing here), corrupt-EXIF notes
            warnings.simplefilter("ignore")
            with PILImage.open(path) as image:
                if image.format == "PNG":  # its getexif() decodes the whole image for a late eXIf
                    exif = PILImage.Exif()
                    exif.load(image.info.get("exif", b""))  # a tag before the pixels, as photos have it
                else:
                    exif = image.getexif()
                orientation = int(exif.get(0x0112, 1))
                density = image.info.get("jfif_density") if image.info.get("jfif_unit") in (1, 2) else None
                meta = PhotoMetadata(icc=image.info.get("icc_profile") or None, exif=upright_exif(image.info.get("exif")),
                                     png=_png_chunks(path) if image.format == "PNG" else None,
                                     jfif_density=(image.info["jfif_unit"], *density) if density else None)
    except Exception:  # a format Pillow cannot parse (or a bomb it refuses) carries nothing it could read
        return 1, None
    return orientation, meta if meta.icc or meta.exif or meta.png or meta.jfif_density else None


def _png_chunks(path: Path) -> bytes | None:
    """The ``PNG_KEPT_CHUNKS`` of a PNG file, verbatim and in order (the pixels are skipped)."""
    kept = b""
    with open(path, "rb") as file:
        file.seek(len(PNG_SIGNATURE))
        while len(head := file.read(8)) == 8 and head[4:] != b"IEND":
            length = struct.unpack(">I", head[:4])[0]
            if head[4:] in PNG_KEPT_CHUNKS:
                kept += head + file.read(length + 4)  # payload and CRC
            else:
                file.seek(length + 4, 1)
    return kept or None


def tiff_metadata(page: Any) -> PhotoMetadata | None:
    """A single-page TIFF's profile and the tags worth keeping (``stacks.page_tags``; not its
    orientation: OpenCV turns the pixels upright), from tifffile's ``page``; None if none."""
    from .stacks import page_tags

    tags = page_tags(page, orientation=False)
    icc = tags.pop("iccprofile", None)  # PhotoMetadata.icc, checked against the output's channels
    kept = {name: value for name, value in tags.items() if value not in (None, False, [])}
    return PhotoMetadata(icc=icc or None, tiff=kept or None) if icc or kept else None


def upright(raw: np.ndarray, orientation: int) -> np.ndarray:
    """``raw`` (H, W[, C]) turned as EXIF ``orientation`` says a viewer shows it (a contiguous copy
    where it moves); ``clean`` then writes the pixels upright, their tag saying so."""
    turn = _ORIENTATIONS.get(orientation)
    return np.ascontiguousarray(turn(raw)) if turn else raw


def upright_exif(block: bytes | None) -> bytes | None:
    """An EXIF block (with or without JPEG's "Exif\\0\\0" prefix) as TIFF-structured bytes whose
    orientation tag, if any, says upright, and whose pixel width and height (PixelXDimension and
    PixelYDimension) are swapped where that turn swapped them; patched in place, so every offset
    in it still holds (camera, capture time, GPS). None for a block that is not one."""
    if not block:
        return None
    tiff = bytearray(block[6:] if block.startswith(b"Exif\0\0") else block)
    order = {b"II": "<", b"MM": ">"}.get(bytes(tiff[:2]))
    if order is None or len(tiff) < 8:
        return None
    entries = _ifd_entries(tiff, order, struct.unpack(order + "I", tiff[4:8])[0])
    if entries is None:
        return None
    orientation, exif_ifd = 1, None
    for entry, tag, kind in entries:
        if tag == 0x0112 and kind == 3:  # a SHORT, left in its 4-byte value field
            orientation = struct.unpack(order + "H", tiff[entry + 8:entry + 10])[0]
            tiff[entry + 8:entry + 10] = struct.pack(order + "H", 1)
        elif tag == 0x8769 and kind in (4, 13):  # the Exif sub-IFD's offset (LONG or IFD)
            exif_ifd = struct.unpack(order + "I", tiff[entry + 8:entry + 12])[0]
    if orientation in (5, 6, 7, 8) and exif_ifd is not None:  # turned by a quarter: width is height
        sizes = {tag: entry for entry, tag, _ in _ifd_entries(tiff, order, exif_ifd) or () if tag in (0xA002, 0xA003)}
        if len(sizes) == 2:  # each entry's type, count and value trade places; the tags stay
            x, y = sizes[0xA002], sizes[0xA003]
            tiff[x + 2:x + 12], tiff[y + 2:y + 12] = tiff[y + 2:y + 12], tiff[x + 2:x + 12]
    return bytes(tiff)


def _ifd_entries(tiff: bytearray, order: str, ifd: int) -> list[tuple[int, int, int]] | None:
    """(offset, tag, type) of each 12-byte entry of the TIFF directory at ``ifd``; None where
    the directory runs past the block."""
    if ifd + 2 > len(tiff):
        return None
    count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
    if ifd + 2 + 12 * count > len(tiff):
        return None
    return [(entry, *struct.unpack(order + "HH", tiff[entry:entry + 4]))
            for entry in range(ifd + 2, ifd + 2 + 12 * count, 12)]


def profile_fits(icc: bytes | None, channels: int) -> bool:
    """Whether an ICC profile describes pixels of this many channels: its colour space (bytes
    16-19 of its header) is RGB for 3, gray for 1; a CMYK JPEG's profile, say, does not describe
    the RGB that OpenCV decodes it to."""
    return bool(icc) and len(icc) >= 20 and icc[16:20] == (b"RGB " if channels == 3 else b"GRAY")


#: The most profile bytes one JPEG APP2 segment holds (65535 less its length, name and numbering).
_JPEG_ICC_CHUNK = 65519


def with_metadata(data: bytes, suffix: str, meta: PhotoMetadata | None, channels: int) -> bytes:
    """Encoded JPEG, PNG or WebP ``data`` (OpenCV writes neither EXIF nor a profile) with ``meta``'s
    EXIF block and colour profile embedded where the EXIF, ICC, PNG and WebP specifications place
    them, the profile only if it describes the pixels (:func:`profile_fits`); a PNG's kept chunks
    and a JPEG's density as well. Other formats unchanged (TIFFs that carry metadata are written
    by :func:`encode_tiff` instead)."""
    if meta is None:
        return data
    icc = meta.icc if profile_fits(meta.icc, channels) else None
    if suffix in (".jpg", ".jpeg"):
        segments = b""
        if meta.exif and len(meta.exif) + 8 <= 0xFFFF:
            segments += b"\xff\xe1" + struct.pack(">H", 8 + len(meta.exif)) + b"Exif\0\0" + meta.exif
        if icc:
            chunks = [icc[i:i + _JPEG_ICC_CHUNK] for i in range(0, len(icc), _JPEG_ICC_CHUNK)]
            if len(chunks) <= 255:
                segments += b"".join(b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(chunk)) + b"ICC_PROFILE\0"
                                     + bytes((number, len(chunks))) + chunk
                                     for number, chunk in enumerate(chunks, 1))
        at = 2  # after the SOI, and after the JFIF APP0 that OpenCV writes first
        if data[2:4] == b"\xff\xe0":
            at = 4 + struct.unpack(">H", data[4:6])[0]
            if meta.jfif_density and data[6:11] == b"JFIF\0":  # its unit and density at bytes 13-17
                data = data[:13] + struct.pack(">BHH", *meta.jfif_density) + data[18:]
        return data[:at] + segments + data[at:]
    if suffix == ".png":
        # iCCP and eXIf chunks right after IHDR (signature 8 bytes, IHDR 25), before the pixels
        chunks = []
        if icc:
            chunks.append(b"iCCP" + b"ICC profile\0\0" + zlib.compress(icc))
        if meta.exif:
            chunks.append(b"eXIf" + meta.exif)
        packed = b"".join(png_chunk(body[:4], body[4:]) for body in chunks) + (meta.png or b"")
        return data[:33] + packed + data[33:]
    if suffix == ".webp":
        return _webp_with(data, icc, meta.exif)
    return data


def encode_tiff(pixels: np.ndarray, meta: PhotoMetadata, channels: int) -> bytes:
    """Integer ``(H, W, C)`` pixels, ``channels`` of gray or RGB and then alpha, as a TIFF (deflate)
    carrying ``meta``'s colour profile where it fits and the source TIFF's tags, which OpenCV's
    TIFF encoder drops. Alpha is unassociated, as OpenCV writes it."""
    import io

    import tifffile

    options = {"software": False, **(meta.tiff or {})}
    icc = meta.icc if profile_fits(meta.icc, channels) else None
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels if pixels.shape[2] > 1 else pixels[..., 0],
                     photometric="rgb" if channels == 3 else "minisblack",
                     extrasamples=("unassalpha",) if pixels.shape[2] > channels else None,
                     compression="adobe_deflate", predictor=True, iccprofile=icc, metadata=None, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload and the CRC of type and payload."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _webp_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)


def _webp_with(data: bytes, icc: bytes | None, exif: bytes | None) -> bytes:
    """A simple-format WebP (one VP8 or VP8L image, as OpenCV writes) in the extended format:
    a VP8X header saying what follows, the ICCP chunk before the image and the EXIF chunk after
    it. ``data`` unchanged if it is not a WebP this understands, or there is nothing to add."""
    if not (icc or exif) or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return data
    chunks, at = [], 12
    while at + 8 <= len(data):
        size = struct.unpack("<I", data[at + 4:at + 8])[0]
        chunks.append((data[at:at + 4], data[at + 8:at + 8 + size]))
        at += 8 + size + size % 2
    if not chunks or chunks[0][0] == b"VP8X":
        return data  # already extended (OpenCV's lossy output with alpha): left as written
    kind, image = chunks[0]
    if kind == b"VP8L" and len(image) >= 5:
        bits = int.from_bytes(image[1:5], "little")
        width, height, alpha = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    elif kind == b"VP8 " and len(image) >= 10:
        width, height = (int.from_bytes(image[6:8], "little") & 0x3FFF), (int.from_bytes(image[8:10], "little") & 0x3FFF)
        alpha = False
    else:
        return data
    flags = (0x20 if icc else 0) | (0x10 if alpha else 0) | (0x08 if exif else 0)
    header = bytes((flags, 0, 0, 0)) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = (_webp_chunk(b"VP8X", header) + (_webp_chunk(b"ICCP", icc) if icc else b"")
            + b"".join(_webp_chunk(fourcc, payload) for fourcc, payload in chunks)
            + (_webp_chunk(b"EXIF", exif) if exif else b""))
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
