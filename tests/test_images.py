"""Image files <-> float arrays: exact round trips, alpha, bit depth, errors, atomic writes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import replace

import cv2
import numpy as np
import pytest

from denoisekit import images as images_module
from denoisekit.images import ImageReadError, read_image, to_integers, write_image
from denoisekit.photo_files import PhotoMetadata


def raw(path):
    """What is stored in a file, decoded independently of denoisekit (OpenCV order)."""
    data = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
    assert data is not None, path
    return data


def stored_rgb(path):
    """Stored pixels as (H, W, C) RGB plus alpha, in the file's dtype."""
    data = raw(path)
    if data.ndim == 2:
        return data[..., None], None
    if data.shape[2] == 4:
        return cv2.cvtColor(data[..., :3], cv2.COLOR_BGR2RGB), data[..., 3]
    return cv2.cvtColor(data, cv2.COLOR_BGR2RGB), None


@pytest.mark.parametrize(
    "name, channels, dtype",
    [
        ("gray8.png", 1, np.uint8),
        ("rgb8.png", 3, np.uint8),
        ("gray16.png", 1, np.uint16),
        ("rgb16.png", 3, np.uint16),
        ("gray16.tif", 1, np.uint16),
        ("rgb16.tif", 3, np.uint16),
        ("rgb8.tiff", 3, np.uint8),
        ("rgb8.bmp", 3, np.uint8),
        ("gray8.bmp", 1, np.uint8),
        ("rgb8.webp", 3, np.uint8),
    ],
)
def test_lossless_round_trip_keeps_every_value(tmp_path, make_image, name, channels, dtype):
    sample = make_image(tmp_path / "in" / name, channels=channels, dtype=dtype, seed=7)
    image = read_image(sample.path)

    # the decoded representation: float32 RGB in [0, 1], dtype of the file remembered
    assert image.pixels.dtype == np.float32
    assert image.pixels.shape == sample.pixels.shape
    assert image.dtype == dtype and image.channels == channels and image.alpha is None
    np.testing.assert_allclose(image.pixels, sample.unit, atol=1e-6)  # RGB order, scaled by the bit depth

    out = tmp_path / "out" / name
    write_image(image, out)
    pixels, alpha = stored_rgb(out)
    assert pixels.dtype == dtype and alpha is None
    np.testing.assert_array_equal(pixels, sample.pixels)
    if dtype == np.uint16:
        assert sample.pixels.max() > 255 and np.any(sample.pixels % 257 != 0)  # real 16-bit data survived


@pytest.mark.parametrize("fixture", ["rgba8_png", "rgba16_png"])
def test_alpha_is_passed_through_untouched(request, tmp_path, fixture):
    sample = request.getfixturevalue(fixture)
    image = read_image(sample.path)
    assert image.channels == 3  # color only; alpha travels beside it
    np.testing.assert_array_equal(image.alpha, sample.alpha)
    np.testing.assert_allclose(image.pixels, sample.unit, atol=1e-6)  # color under alpha 0 is kept too

    inverted = image.with_pixels(1.0 - image.pixels)  # a transform that touches every color value
    out = tmp_path / "out.png"
    write_image(inverted, out)
    pixels, alpha = stored_rgb(out)
    assert pixels.dtype == sample.dtype
    np.testing.assert_array_equal(alpha, sample.alpha)
    top = np.iinfo(sample.dtype).max
    np.testing.assert_array_equal(pixels, top - sample.pixels)


def test_jpeg_round_trip_is_close_and_keeps_channels(tmp_path, make_image):
    for channels in (1, 3):
        sample = make_image(tmp_path / f"c{channels}.jpg", channels=channels, dtype=np.uint8, seed=channels)
        stored, _ = stored_rgb(sample.path)  # the JPEG file already differs from sample.pixels
        image = read_image(sample.path)
        assert image.channels == channels and image.dtype == np.uint8
        np.testing.assert_allclose(image.pixels, stored / 255.0, atol=1e-6)
        out = tmp_path / "out" / f"c{channels}.jpeg"
        write_image(image, out)
        pixels, _ = stored_rgb(out)
        assert pixels.shape == sample.pixels.shape
        difference = np.abs(pixels.astype(int) - stored.astype(int))
        assert difference.mean() < 2.0  # re-encoded at quality 95
        assert difference.max() < 32


@pytest.mark.parametrize("suffix", [".bmp", ".webp", ".jpg"])
def test_sixteen_bit_into_an_eight_bit_format_is_scaled(tmp_path, make_image, suffix):
    sample = make_image(tmp_path / "in16.png", channels=3, dtype=np.uint16, with_alpha=False, seed=9)
    out = tmp_path / f"out{suffix}"
    write_image(read_image(sample.path), out)
    pixels, _ = stored_rgb(out)
    assert pixels.dtype == np.uint8
    expected = sample.pixels.astype(np.float64) / 257.0
    assert abs(pixels.mean() - expected.mean()) < 1.0  # scaled by 255/65535, not truncated
    if suffix == ".jpg":  # lossy (and chroma-subsampled) on a noisy texture
        assert np.abs(pixels - expected).mean() < 6.0
    else:
        assert np.abs(pixels - expected).max() <= 0.5 + 1e-9  # rounded to the nearest 8-bit value


def test_to_integers_rounds_and_clips():
    values = np.array([-0.5, 0.0, 0.6 / 255, 0.4 / 255, 1.0, 1.7], np.float32)
    np.testing.assert_array_equal(to_integers(values, np.uint8), [0, 0, 1, 0, 255, 255])
    np.testing.assert_array_equal(to_integers(np.array([1.0, 0.5]), np.uint16), [65535, 32768])


def test_a_non_image_file_raises_naming_the_file(tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture\n")
    with pytest.raises(ImageReadError, match="notes.png"):
        read_image(fake)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.jpg"):
        read_image(empty)
    with pytest.raises(ImageReadError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_a_truncated_png_raises_naming_the_file(tmp_path, rgb8_png):
    data = rgb8_png.path.read_bytes()
    broken = tmp_path / "broken.png"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError) as info:
        read_image(broken)
    assert str(broken) in str(info.value)


def test_a_broken_file_is_reported_without_the_decoders_own_log_lines(tmp_path):
    """OpenCV logs its decoders' complaints to the process's stderr, which a CLI user would see
    beside our one-line error: they are silenced while reading, then the caller's level is back."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nxxxx")
    script = f"""
import cv2
from denoisekit.images import ImageReadError, read_image
before = cv2.utils.logging.getLogLevel()
try:
    read_image({str(broken)!r})
except ImageReadError as err:
    print(err)
print(cv2.utils.logging.getLogLevel() == before)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == [f"{broken}: not a readable image", "True"]
    assert "grfmt" not in done.stderr and "IHDR" not in done.stderr, done.stderr


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photo_is_read_upright_as_its_exif_orientation_says(tmp_path, orientation, suffix):
    """Phones store portrait photos sideways with an EXIF tag saying how to turn them; the pixels
    come out as a viewer shows them, so `clean` writes them upright (OpenCV turns TIFFs itself)."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)
    stored[:4, :8] = (255, 0, 0)  # a marker in the stored top-left corner
    path = tmp_path / f"photo{orientation}{suffix}"
    photo = PILImage.fromarray(stored)
    exif = photo.getexif()
    exif[0x0112] = orientation
    photo.save(path, exif=exif, **({"quality": 95} if suffix in (".jpg", ".webp") else {}))
    with PILImage.open(path) as image:  # Pillow's own turn, as viewers do it
        shown = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), np.float32)
    pixels = read_image(path).pixels * 255
    assert pixels.shape == shown.shape == ((24, 40, 3) if orientation < 5 else (40, 24, 3))
    # (JPEG and WebP decoders may round differently; a wrong turn is off by about 85 levels)
    assert np.abs(pixels - shown).mean() < (0.5 if suffix in (".jpg", ".webp") else 1e-6)
    write_image(read_image(path), tmp_path / "out" / path.name)
    assert read_image(tmp_path / "out" / path.name).pixels.shape == shown.shape  # no tag turns it again


@pytest.mark.parametrize("size", [588, 150_000])  # sRGB's; one a JPEG must split over three segments
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_the_colour_profile_is_written_back(tmp_path, suffix, size):
    """A phone photo in Display P3 carries its ICC profile; without it a viewer shows the restored
    pixels as sRGB, with duller colours. JPEG, PNG, WebP and TIFF keep it through read and write."""
    from PIL import Image as PILImage
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    if size > len(profile):
        profile += np.random.default_rng(0).integers(0, 256, size - len(profile), dtype=np.uint8).tobytes()
    ramp = np.linspace(0, 255, 30, dtype=np.float32)
    pixels = np.stack([np.broadcast_to(ramp, (20, 30)), np.full((20, 30), 90), np.broadcast_to(ramp[::-1], (20, 30))],
                      axis=-1).astype(np.uint8)  # smooth: a JPEG's second encoding stays close
    original = tmp_path / f"p3{suffix}"
    PILImage.fromarray(pixels).save(original, icc_profile=profile)
    image = read_image(original)
    assert image.photo.icc == profile
    copy = tmp_path / "out" / original.name
    write_image(image.with_pixels(image.pixels), copy)
    with PILImage.open(copy) as written:
        assert written.info["icc_profile"] == profile
        np.testing.assert_allclose(np.asarray(written, np.float32), image.pixels * 255, atol=6)
    np.testing.assert_allclose(read_image(copy).pixels, image.pixels, atol=6 / 255)  # OpenCV still reads it
    # An image without a profile is written without one; so is one whose profile is not for its
    # pixels (a CMYK profile on the RGB that OpenCV decodes a CMYK JPEG to).
    PILImage.fromarray(pixels).save(tmp_path / f"plain{suffix}")
    assert read_image(tmp_path / f"plain{suffix}").photo is None
    cmyk = profile[:16] + b"CMYK" + profile[20:]
    write_image(replace(image, photo=PhotoMetadata(icc=cmyk)), tmp_path / f"cmyk{suffix}")
    with PILImage.open(tmp_path / f"cmyk{suffix}") as written:
        assert "icc_profile" not in written.info


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_the_exif_block_is_written_back_saying_upright(tmp_path, suffix):
    """Camera, capture time (photo libraries sort by it) and the rest of EXIF survive; the
    orientation tag now says upright, since the pixels were turned on reading."""
    from PIL import Image as PILImage

    photo = PILImage.fromarray(np.full((20, 30, 3), 120, np.uint8))
    exif = photo.getexif()
    exif[0x0112], exif[0x010F] = 6, "TestCam"  # orientation, make
    exif.get_ifd(0x8769)[0x9003] = "2026:12:01 10:00:00"  # DateTimeOriginal, in the Exif sub-IFD
    exif.get_ifd(0x8769)[0xA002], exif.get_ifd(0x8769)[0xA003] = 30, 20  # the stored pixels' width, height
    original = tmp_path / f"phone{suffix}"
    photo.save(original, exif=exif)
    image = read_image(original)
    assert image.pixels.shape == (30, 20, 3)
    write_image(image, tmp_path / "out" / original.name)
    with PILImage.open(tmp_path / "out" / original.name) as written:
        kept = written.getexif()
        assert kept[0x0112] == 1 and kept[0x010F] == "TestCam"
        assert kept.get_ifd(0x8769)[0x9003] == "2026:12:01 10:00:00"
        # The pixel size it states is the upright image's, as the written pixels are.
        assert (kept.get_ifd(0x8769)[0xA002], kept.get_ifd(0x8769)[0xA003]) == (20, 30) == written.size
    assert read_image(tmp_path / "out" / original.name).pixels.shape == (30, 20, 3)  # not turned twice


def test_a_webp_with_alpha_keeps_its_alpha_profile_and_exif(tmp_path):
    from PIL import Image as PILImage
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgba = np.dstack([np.full((16, 24, 3), 140, np.uint8), np.tile(np.arange(0, 240, 10, dtype=np.uint8), (16, 1))])
    photo = PILImage.fromarray(rgba)
    exif = photo.getexif()
    exif[0x010F] = "TestCam"
    photo.save(tmp_path / "a.webp", lossless=True, icc_profile=profile, exif=exif)
    image = read_image(tmp_path / "a.webp")
    write_image(image, tmp_path / "out" / "a.webp")
    with PILImage.open(tmp_path / "out" / "a.webp") as written:
        assert written.mode == "RGBA" and written.info["icc_profile"] == profile
        assert written.getexif()[0x010F] == "TestCam"
        seen = rgba[..., 3] > 0  # (WebP's encoder drops the colour of fully transparent pixels)
        np.testing.assert_array_equal(np.asarray(written)[seen], rgba[seen])  # lossless, alpha included
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "a.webp").alpha, image.alpha)


@pytest.mark.parametrize("channels,alpha", [(1, False), (3, False), (3, True), (1, True)])
def test_a_tiff_keeps_its_resolution_camera_time_and_profile(tmp_path, channels, alpha):
    """A scan's DPI, a micrograph's pixel size, the camera, author and capture time are TIFF tags
    that OpenCV's encoder drops; a single-page TIFF is written back with them, its 16-bit pixels
    and alpha exact, its profile kept where it describes the pixels."""
    import tifffile
    from PIL import ImageCms

    rng = np.random.default_rng(channels)
    shape = (12, 20) if channels == 1 else (12, 20, 3)
    pixels = rng.integers(0, 65536, shape, dtype=np.uint16)
    if alpha:
        pixels = np.dstack([pixels, rng.integers(0, 65536, (12, 20), dtype=np.uint16)])
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "scan.tif"
    tifffile.imwrite(source, pixels, photometric="rgb" if channels == 3 else "minisblack",
                     extrasamples=("unassalpha",) if alpha else None, iccprofile=icc if channels == 3 else None,
                     resolution=(1200, 600), resolutionunit="inch", datetime="2026:11:30 09:15:00",
                     software="ScanApp 2", metadata=None,
                     extratags=[(271, 2, 0, "ScanCo", True), (272, 2, 0, "S-100", True), (33432, 2, 0, "(c) A. Author", True)])
    image = read_image(source)
    write_image(image, tmp_path / "out" / "scan.tif")
    with tifffile.TiffFile(tmp_path / "out" / "scan.tif") as tif:
        page = tif.pages.first
        assert page.resolution == (1200, 600) and page.resolutionunit == 2
        assert (page.tags[271].value, page.tags[272].value, page.tags[33432].value) == ("ScanCo", "S-100", "(c) A. Author")
        assert page.tags[306].value == "2026:11:30 09:15:00" and page.software == "ScanApp 2"
        assert page.iccprofile == (icc if channels == 3 else None)
        assert page.dtype == np.uint16
    back = read_image(tmp_path / "out" / "scan.tif")
    np.testing.assert_array_equal(back.pixels, image.pixels)
    if alpha:
        np.testing.assert_array_equal(back.alpha, image.alpha)
    # A colour profile does not describe gray pixels made from it (nor a gray one a colorized photo)
    gray = image.with_pixels(image.pixels.mean(axis=-1, keepdims=True))
    write_image(gray, tmp_path / "gray.tif")
    with tifffile.TiffFile(tmp_path / "gray.tif") as tif:
        assert tif.pages.first.iccprofile is None and tif.pages.first.tags[271].value == "ScanCo"


def test_a_gray_tiff_with_alpha_is_read_whole_and_written_as_it_was(tmp_path):
    """OpenCV reads a gray-and-alpha TIFF as 8-bit gray: its alpha and the low byte of each 16-bit
    sample would be lost without a word. It is read whole, upright, and written back gray + alpha."""
    import tifffile

    samples = np.random.default_rng(5).integers(0, 65536, (10, 14, 2), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "la.tif", samples, photometric="minisblack", extrasamples=("unassalpha",),
                     metadata=None, extratags=[(274, 3, 1, 3, True)])  # shown turned by half a turn
    image = read_image(tmp_path / "la.tif")
    assert image.dtype == np.uint16 and image.channels == 1
    np.testing.assert_array_equal(to_integers(image.pixels, np.uint16)[..., 0], samples[::-1, ::-1, 0])
    np.testing.assert_array_equal(image.alpha, samples[::-1, ::-1, 1])
    write_image(image, tmp_path / "out.tif")
    written = tifffile.imread(tmp_path / "out.tif")
    np.testing.assert_array_equal(written, samples[::-1, ::-1])


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_an_rgba_tiff_keeps_its_colour_where_it_is_transparent(tmp_path, planar):
    """OpenCV multiplies an 8-bit RGB TIFF's colour by its (unassociated) alpha: half-transparent
    pixels came back half as bright, transparent ones black. The colour is read as stored."""
    import tifffile

    rgba = np.random.default_rng(6).integers(0, 256, (12, 16, 4), dtype=np.uint8)
    rgba[..., 3] = np.linspace(0, 255, 16).astype(np.uint8)  # transparent to opaque
    stored = rgba if planar == "contig" else np.moveaxis(rgba, -1, 0)
    tifffile.imwrite(tmp_path / "rgba.tif", stored, photometric="rgb", extrasamples=("unassalpha",),
                     planarconfig=planar)
    image = read_image(tmp_path / "rgba.tif")
    assert image.dtype == np.uint8 and image.channels == 3
    np.testing.assert_array_equal(to_integers(image.pixels, np.uint8), rgba[..., :3])
    np.testing.assert_array_equal(image.alpha, rgba[..., 3])
    write_image(image, tmp_path / "out.tif")
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), rgba)


@pytest.mark.parametrize("depth", [8, 16])
def test_a_gray_png_with_alpha_stays_gray_with_alpha(tmp_path, depth):
    """OpenCV decodes a gray-and-alpha PNG as BGRA: read as such, it would go to the colour model
    and get colour noise, and come back RGBA without its gray profile."""
    from PIL import Image as PILImage
    from PIL import ImageCms

    gray_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    gray_icc = gray_icc[:16] + b"GRAY" + gray_icc[20:]
    dtype = np.uint8 if depth == 8 else np.uint16
    samples = np.random.default_rng(depth).integers(0, np.iinfo(dtype).max + 1, (18, 26, 2)).astype(dtype)
    if depth == 8:
        PILImage.fromarray(samples, "LA").save(tmp_path / "la.png", icc_profile=gray_icc)
    else:  # Pillow writes no 16-bit gray-and-alpha: our own writer makes the file, as clean does
        write_image(images_module.image_from_array(samples), tmp_path / "la.png")
    image = read_image(tmp_path / "la.png")
    assert image.channels == 1 and image.dtype == dtype
    np.testing.assert_array_equal(to_integers(image.pixels, dtype)[..., 0], samples[..., 0])
    np.testing.assert_array_equal(image.alpha, samples[..., 1])
    write_image(image, tmp_path / "out" / "la.png")
    if depth == 8:
        with PILImage.open(tmp_path / "out" / "la.png") as written:
            assert written.mode == "LA" and written.info["icc_profile"] == gray_icc
            np.testing.assert_array_equal(np.asarray(written), samples)
    assert (tmp_path / "out" / "la.png").read_bytes()[24:26] == bytes((depth, 4))  # bit depth, colour type 4
    back = read_image(tmp_path / "out" / "la.png")
    np.testing.assert_array_equal(back.pixels, image.pixels)
    np.testing.assert_array_equal(back.alpha, image.alpha)


def test_the_orientation_follows_what_a_file_is_not_its_name(tmp_path):
    """OpenCV turns TIFFs by their tag and leaves JPEGs to us: a TIFF named .png must not be
    turned twice, a JPEG named .tif not left sideways."""
    import tifffile
    from PIL import Image as PILImage

    stored = np.random.default_rng(7).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "tiff.png", stored, photometric="rgb", extratags=[(274, 3, 1, 6, True)])
    exif = PILImage.Exif()
    exif[0x0112] = 6
    PILImage.fromarray(stored).save(tmp_path / "jpeg.tif", format="JPEG", exif=exif, quality=95)
    for name in ("tiff.png", "jpeg.tif"):
        assert read_image(tmp_path / name).pixels.shape == (40, 24, 3), name  # turned once, upright


def test_bilevel_and_cmyk_tiffs_read_as_what_they_show(tmp_path):
    """A 1-bit scan is read as 8-bit black and white, as a 1-bit PNG is; a CMYK TIFF as RGB without
    the opaque alpha OpenCV's decoder adds."""
    import tifffile
    from PIL import Image as PILImage

    ink = np.random.default_rng(8).random((20, 30)) > 0.5
    PILImage.fromarray(ink).convert("1").save(tmp_path / "scan.tif")
    scan = read_image(tmp_path / "scan.tif")
    assert scan.channels == 1 and scan.dtype == np.uint8
    np.testing.assert_array_equal(scan.pixels[..., 0], ink.astype(np.float32))
    tifffile.imwrite(tmp_path / "cmyk.tif", np.zeros((20, 30, 4), np.uint8), photometric="separated")
    cmyk = read_image(tmp_path / "cmyk.tif")
    assert cmyk.channels == 3 and cmyk.alpha is None
    np.testing.assert_array_equal(cmyk.pixels, 1.0)  # no ink: white


def test_dpi_and_text_of_pngs_and_jpegs_are_written_back(tmp_path):
    """Print size (PNG pHYs, a JPEG's JFIF density) and a PNG's text (author, description) survive."""
    from PIL import Image as PILImage
    from PIL import PngImagePlugin

    pixels = np.random.default_rng(9).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "A. Author")
    text.add_itxt("Description", "Blätter im Wind")
    PILImage.fromarray(pixels).save(tmp_path / "p.png", dpi=(300, 300), pnginfo=text)
    PILImage.fromarray(pixels).save(tmp_path / "p.jpg", dpi=(240, 120))
    for name in ("p.png", "p.jpg"):
        write_image(read_image(tmp_path / name), tmp_path / "out" / name)
    with PILImage.open(tmp_path / "out" / "p.png") as png:
        assert np.allclose(png.info["dpi"], 300, atol=0.01)
        assert (png.info["Author"], png.info["Description"]) == ("A. Author", "Blätter im Wind")
    with PILImage.open(tmp_path / "out" / "p.jpg") as jpeg:
        assert jpeg.info["dpi"] == (240, 120)


def test_exif_dimensions_stay_for_turns_that_keep_width_and_height_and_odd_blocks_pass():
    from PIL import Image as PILImage

    from denoisekit.photo_files import upright_exif

    for orientation, size in ((3, (30, 20)), (1, (30, 20)), (8, (20, 30))):
        exif = PILImage.Exif()
        exif[0x0112] = orientation
        exif.get_ifd(0x8769)[0xA002], exif.get_ifd(0x8769)[0xA003] = 30, 20
        patched = PILImage.Exif()
        patched.load(upright_exif(exif.tobytes()))
        assert patched[0x0112] == 1
        assert (patched.get_ifd(0x8769)[0xA002], patched.get_ifd(0x8769)[0xA003]) == size
    assert upright_exif(b"II*\0\x08\0\0\0\x05\0") is None  # a directory running past the block
    assert upright_exif(b"nonsense") is None


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_write_is_atomic_with_normal_permissions(tmp_path, rgb8_png):
    image = read_image(rgb8_png.path)
    out_dir = tmp_path / "new" / "nested"  # created on demand
    target = out_dir / "result.png"
    write_image(image, target)
    assert _listing(out_dir) == ["result.png"]  # no .part temporaries left behind

    reference = out_dir / "plain.txt"
    reference.write_text("x")  # permissions a normally created file gets (umask applied)
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)
    np.testing.assert_array_equal(stored_rgb(target)[0], rgb8_png.pixels)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, rgb8_png, monkeypatch):
    target = tmp_path / "result.png"
    target.write_bytes(b"previous content")

    def interrupted(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(images_module.os, "replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        write_image(read_image(rgb8_png.path), target)
    monkeypatch.undo()
    assert target.read_bytes() == b"previous content"
    assert _listing(tmp_path) == sorted(["result.png", rgb8_png.path.name])


def test_with_pixels_keeps_dtype_alpha_and_path(rgba16_png):
    image = read_image(rgba16_png.path)
    changed = image.with_pixels(np.zeros_like(image.pixels, dtype=np.float64))
    assert changed.pixels.dtype == np.float32
    assert changed.dtype == np.uint16 and changed.bit_depth == 16 and changed.max_value == 65535
    assert changed.alpha is image.alpha and changed.path == image.path
    assert os.fspath(changed.path).endswith("rgba16.png")
