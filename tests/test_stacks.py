"""TIFF stacks through ``denoisekit clean``: every page restored and written back with its dtype,
axes and metadata, measured page by page; damaged stacks fail in one line, nothing half-written."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tifffile
from skimage.metrics import peak_signal_noise_ratio
from stack_fixtures import as_uint16, camera_planes, noisy_version, page_gains

import denoisekit
from denoisekit.cli import main
from denoisekit.images import ImageReadError, read_image
from denoisekit.stacks import is_stack, transform_stack


def clean(runner, *args):
    return runner.invoke(main, ["clean", *map(str, args)])


@pytest.fixture(scope="module")
def gaussian():
    """The bundled Gaussian models, loaded once for the Python-level checks."""
    return denoisekit.make_restorer(model="gaussian")


def listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("writer", ["opencv", "tifffile"])
def test_a_sixteen_bit_five_page_stack_comes_back_with_five_restored_pages(runner, tmp_path, writer, gaussian):
    truth = as_uint16(camera_planes(5))
    noisy = as_uint16(noisy_version(camera_planes(5), seed=1))
    for folder, pages in (("noisy", noisy), ("clean", truth)):
        path = tmp_path / folder / "sub" / "stack.tif"  # in a subfolder: clean recurses by default
        path.parent.mkdir(parents=True)
        if writer == "opencv":  # the file: OpenCV's imwritemulti, LZW-compressed
            assert cv2.imwritemulti(str(path), list(pages))
        else:
            tifffile.imwrite(path, pages)
    result = clean(runner, tmp_path / "noisy", tmp_path / "out", "--reference", tmp_path / "clean", "--json")
    assert result.exit_code == 0, result.output
    assert "1 written, 0 kept, 0 failed" in result.stderr
    with tifffile.TiffFile(tmp_path / "out" / "sub" / "stack.tif") as tif:
        assert len(tif.pages) == 5 and tif.pages[0].compression == (5 if writer == "opencv" else 1)
        restored = tif.asarray()
    assert restored.dtype == np.uint16 and restored.shape == (5, 96, 96)
    gains = page_gains(truth, noisy, restored, 65535)
    assert min(gains) > 5, gains  # every page restored, not only the first

    row = json.loads(result.stdout)["files"][0]
    assert row["file"] == "sub/stack.tif" and row["pages"] == 5 and row["dtype"] == "uint16"
    assert row["normalization"] == "dtype" and row["data_range"] == 65535
    assert [p["page"] for p in row["page_figures"]] == [1, 2, 3, 4, 5]
    for page, gain in zip(row["page_figures"], gains):  # the report measures the written pages
        assert page["output"]["psnr"] - page["input"]["psnr"] == pytest.approx(gain, abs=1e-6)
    assert row["output"]["psnr"] == pytest.approx(np.mean([p["output"]["psnr"] for p in row["page_figures"]]))

    # The same through Python: the same restorer on the array gives the same pages.
    np.testing.assert_array_equal(denoisekit.restore_array(noisy, "ZYX", restorer=gaussian), restored)


def test_an_imagej_hyperstack_keeps_its_axes_and_metadata(runner, tmp_path):
    unit = camera_planes(6).reshape(3, 2, 96, 96)  # Z=3, C=2
    scale, offset = np.array([4095.0, 1000.0])[:, None, None], np.array([0.0, 200.0])[:, None, None]
    truth = np.rint(unit * scale + offset).astype(np.uint16)  # 12-bit data in 16-bit pages
    noisy = np.rint(noisy_version(unit, seed=2) * scale + offset).astype(np.uint16)
    metadata = {"axes": "ZCYX", "spacing": 0.5, "unit": "um", "mode": "composite", "Info": "test acquisition",
                "Labels": [f"z{z}-c{c}" for z in range(3) for c in range(2)], "Ranges": (0.0, 4095.0, 200.0, 1200.0)}
    for folder, data in (("noisy", noisy), ("clean", truth)):
        (tmp_path / folder).mkdir()
        tifffile.imwrite(tmp_path / folder / "hyper.tif", data, imagej=True, resolution=(5.0, 5.0), metadata=metadata)
    result = clean(runner, tmp_path / "noisy", tmp_path / "out", "--reference", tmp_path / "clean", "--json")
    assert result.exit_code == 0, result.output
    assert "note: hyper.tif: 2 channels, each restored on its own" in result.stderr
    with tifffile.TiffFile(tmp_path / "noisy" / "hyper.tif") as before, \
            tifffile.TiffFile(tmp_path / "out" / "hyper.tif") as after:
        assert after.is_imagej and len(after.pages) == 6
        assert after.series[0].axes == "ZCYX" and after.series[0].shape == (3, 2, 96, 96)
        assert after.imagej_metadata == before.imagej_metadata  # spacing, unit, labels, ranges, info
        assert after.pages[0].resolution == before.pages[0].resolution == (5.0, 5.0)
        assert after.pages[0].description == before.pages[0].description
        restored = after.asarray()
    assert restored.dtype == np.uint16
    gains = page_gains(truth.reshape(6, 96, 96), noisy.reshape(6, 96, 96), restored.reshape(6, 96, 96), 65535)
    assert min(gains) > 3.5, gains  # the sixth crop is the camera's grass, all texture: 4.1 dB; the others 5.6-11
    row = json.loads(result.stdout)["files"][0]
    assert row["pages"] == 6 and row["axes"] == "ZCYX 3x2x96x96, 6 planes"
    assert [round(p["output"]["psnr"] - p["input"]["psnr"], 6) for p in row["page_figures"]] == \
        [round(g, 6) for g in gains]


@pytest.mark.slow
def test_a_float32_ome_tiff_is_restored_in_float32_with_its_ome_xml(runner, tmp_path):
    unit = camera_planes(5)
    truth = (unit * 900 + 100).astype(np.float32)  # photon counts, say: not in [0, 1]
    rng = np.random.default_rng(3)
    noisy = (truth + rng.normal(0, 25 / 255 * 900, truth.shape)).astype(np.float32)  # unclipped, as float data is
    metadata = {"axes": "ZYX", "PhysicalSizeX": 0.1, "PhysicalSizeXUnit": "µm", "PhysicalSizeY": 0.1,
                "PhysicalSizeYUnit": "µm", "Name": "cells"}
    for folder, data in (("noisy", noisy), ("clean", truth)):
        (tmp_path / folder).mkdir()
        tifffile.imwrite(tmp_path / folder / "cells.ome.tif", data, ome=True, metadata=metadata,
                         resolution=(1e5, 1e5), resolutionunit="CENTIMETER")
    args = [tmp_path / "noisy", tmp_path / "out", "--reference", tmp_path / "clean", "--json"]
    result = clean(runner, *args, "--report", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text()
    assert all(f'<img alt="{role}"' in html for role in ("reference", "input", "output"))  # the middle page
    with tifffile.TiffFile(tmp_path / "noisy" / "cells.ome.tif") as before, \
            tifffile.TiffFile(tmp_path / "out" / "cells.ome.tif") as after:
        assert after.is_ome and after.ome_metadata == before.ome_metadata  # the OME-XML, verbatim
        assert after.series[0].axes == "ZYX" and len(after.pages) == 5
        assert after.pages[0].resolution == before.pages[0].resolution
        restored = after.asarray()
    assert restored.dtype == np.float32 and restored.shape == (5, 96, 96)
    span = float(truth.max() - truth.min())
    gains = page_gains(truth, noisy, restored, span)
    assert min(gains) > 5, gains
    assert abs(float(np.median(restored - truth))) < 5  # in the input's units, not rescaled to [0, 1]

    first = json.loads(result.stdout)["files"][0]
    assert first["normalization"] == "percentile:1,99.8" and first["data_range"] == pytest.approx(span)
    for page, truth_page, out_page in zip(first["page_figures"], truth, restored):
        expected = peak_signal_noise_ratio(truth_page.astype(np.float64), out_page.astype(np.float64), data_range=span)
        assert page["output"]["psnr"] == pytest.approx(expected, abs=1e-6)

    # A second run keeps the output and reports the same figures from the files.
    again = clean(runner, *args)
    assert again.exit_code == 0 and "0 written, 1 kept" in again.stderr
    kept = json.loads(again.stdout)["files"][0]
    assert kept["status"] == "kept" and kept["page_figures"] == first["page_figures"]
    # denoisekit metrics scores stacks page by page on the same range.
    scores = runner.invoke(main, ["metrics", str(tmp_path / "clean"), str(tmp_path / "out"), "--json", "-"])
    assert scores.exit_code == 0, scores.output
    assert json.loads(scores.stdout)["mean"]["psnr"] == pytest.approx(first["output"]["psnr"])


@pytest.mark.slow
def test_more_than_four_channels_are_restored_each_on_its_own(runner, tmp_path):
    unit = camera_planes(6).transpose(1, 2, 0)  # one page of 6 samples (Y, X, S)
    truth = (unit * np.arange(1, 7) * 100).astype(np.float32)  # channels of different brightness
    noisy = (truth + np.random.default_rng(4).normal(0, 25 / 255, truth.shape) * np.arange(1, 7) * 100)
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "six.tif", noisy.astype(np.float32), photometric="minisblack",
                     planarconfig="contig")
    result = clean(runner, tmp_path / "in", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert "note: six.tif: 6 channels, each restored on its own" in result.stderr
    assert "six.tif: 6 channels, each restored on its own" in json.loads(result.stdout)["notes"]
    restored = tifffile.imread(tmp_path / "out" / "six.tif")
    assert restored.dtype == np.float32 and restored.shape == (96, 96, 6)
    spans = truth.max(axis=(0, 1)) - truth.min(axis=(0, 1))
    gains = [page_gains(truth[None, ..., c], noisy[None, ..., c], restored[None, ..., c], spans[c])[0]
             for c in range(6)]
    assert min(gains) > 3.5, gains  # the sixth channel is the camera's grass, as in the hyperstack test


def test_damaged_stacks_fail_in_one_line_and_nothing_is_half_written(runner, tmp_path):
    pages = as_uint16(noisy_version(camera_planes(3, side=64)))
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "good.tif", pages, photometric="minisblack")  # 3 pages, not RGB
    data = (tmp_path / "in" / "good.tif").read_bytes()
    (tmp_path / "in" / "truncated.tif").write_bytes(data[: len(data) * 3 // 5])  # pages 2 and 3 cut off
    (tmp_path / "in" / "garbage.tif").write_bytes(b"II*\x00" + bytes(range(256)) * 4)
    assert cv2.imwritemulti(str(tmp_path / "cv.tif"), list(pages))
    data = (tmp_path / "cv.tif").read_bytes()
    (tmp_path / "in" / "cv-cut.tif").write_bytes(data[: len(data) * 4 // 5])  # OpenCV would read 2 of its 3 pages
    result = clean(runner, tmp_path / "in", tmp_path / "out", "--restorer", "median")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split(":")[1].rsplit("/", 1)[-1] for e in errors] == ["cv-cut.tif", "garbage.tif", "truncated.tif"]
    assert "damaged or truncated" in errors[0] and "damaged or truncated" in errors[2]
    assert "1 written, 0 kept, 3 failed" in result.stderr
    assert listing(tmp_path / "out") == ["good.tif"]  # no output and no temporary for the damaged ones
    assert len(tifffile.TiffFile(tmp_path / "out" / "good.tif").pages) == 3


def test_a_failure_on_a_later_page_leaves_no_file_and_keeps_an_old_one(tmp_path):
    source = tmp_path / "stack.tif"
    tifffile.imwrite(source, as_uint16(camera_planes(4, side=32)), photometric="minisblack")

    def fails_on_page_3(pixels, where):
        if where[0] == 2:
            raise RuntimeError("out of memory")
        return pixels

    with pytest.raises(RuntimeError, match="out of memory"):
        transform_stack(source, tmp_path / "out" / "stack.tif", fails_on_page_3)
    assert listing(tmp_path / "out") == []
    (tmp_path / "out" / "stack.tif").write_bytes(b"an earlier result")
    with pytest.raises(RuntimeError):
        transform_stack(source, tmp_path / "out" / "stack.tif", fails_on_page_3)
    assert listing(tmp_path / "out") == ["stack.tif"]
    assert (tmp_path / "out" / "stack.tif").read_bytes() == b"an earlier result"


def _write(path, data, **options):
    tifffile.imwrite(path, data, **options)
    return path


LAYOUTS = {  # name: (data, tifffile options, axes tifffile reads)
    "gray-lzw-predictor": (np.arange(4 * 40 * 48, dtype=np.uint16).reshape(4, 40, 48) * 13,
                           {"photometric": "minisblack", "compression": "lzw", "predictor": True}, "QYX"),
    "rgb-contig": (np.arange(3 * 40 * 48 * 3, dtype=np.uint8).reshape(3, 40, 48, 3), {"photometric": "rgb"}, "QYXS"),
    "rgb-planar": (np.arange(2 * 3 * 40 * 48, dtype=np.uint8).reshape(2, 3, 40, 48),
                   {"photometric": "rgb", "planarconfig": "separate"}, "QSYX"),
    "big-endian-float32": (np.linspace(-5, 300, 3 * 40 * 48, dtype=np.float32).reshape(3, 40, 48),
                           {"photometric": "minisblack", "byteorder": ">", "compression": "zlib"}, "QYX"),
    "float16-one-page": (np.linspace(0, 2, 40 * 48, dtype=np.float16).reshape(40, 48), {}, "YX"),
    "int32": (np.arange(2 * 40 * 48, dtype=np.int32).reshape(2, 40, 48) * 1000 - 50_000, {}, "QYX"),
    "five-samples-float64": (np.linspace(0, 1, 40 * 48 * 5).reshape(40, 48, 5),
                             {"photometric": "minisblack", "planarconfig": "contig"}, "YXS"),
    "tiled": (np.arange(2 * 64 * 64, dtype=np.uint16).reshape(2, 64, 64), {"tile": (32, 32)}, "QYX"),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_stack_layouts_round_trip_exactly(tmp_path, name):
    data, options, axes = LAYOUTS[name]
    source = _write(tmp_path / "in.tif", data, **options)
    assert is_stack(source)
    seen = []

    def identity(pixels, where):
        seen.append(pixels.shape)
        assert pixels.dtype == np.float32 and 0 <= pixels.min() and pixels.max() <= 1
        return pixels

    transform_stack(source, tmp_path / "out.tif", identity)
    with tifffile.TiffFile(source) as before, tifffile.TiffFile(tmp_path / "out.tif") as after:
        assert after.series[0].axes == before.series[0].axes == axes
        assert len(after.pages) == len(before.pages) and after.byteorder == before.byteorder
        first, copy = before.pages[0], after.pages[0]
        assert (copy.photometric, copy.planarconfig, copy.compression, copy.predictor, copy.dtype) == \
            (first.photometric, first.planarconfig, first.compression, first.predictor, first.dtype)
        restored = after.asarray()
    assert restored.dtype == data.dtype and restored.shape == data.shape
    if data.dtype.kind in "ui":
        np.testing.assert_array_equal(restored, data)  # integers: exact
    else:  # floats: through the normalisation and back, to float precision
        np.testing.assert_allclose(restored, data, rtol=1e-3 if data.dtype == np.float16 else 1e-6, atol=1e-5)
    colour = name.startswith("rgb")
    assert all(shape[-1] == (3 if colour else 1) for shape in seen)


def test_alpha_is_kept_and_the_colour_restored(tmp_path):
    rgba = np.random.default_rng(5).integers(0, 256, (2, 32, 40, 4), dtype=np.uint8)
    source = _write(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    transform_stack(source, tmp_path / "out.tif", lambda pixels, where: 1.0 - pixels)
    restored = tifffile.imread(tmp_path / "out.tif")
    np.testing.assert_array_equal(restored[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(restored[..., :3], 255 - rgba[..., :3])


def test_a_stack_written_as_stored_keeps_the_orientation_it_is_shown_with(tmp_path):
    """A float TIFF restored page by page is written as stored: its orientation tag must come along,
    or a viewer shows the output sideways where it showed the input upright."""
    floats = np.random.default_rng(6).random((24, 40)).astype(np.float32)
    source = _write(tmp_path / "turned.tif", floats, extratags=[(274, 3, 1, 6, True)])
    transform_stack(source, tmp_path / "out.tif", lambda pixels, where: pixels)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.pages.first.tags[274].value == 6 and tif.pages.first.shape == (24, 40)


def test_plain_single_page_tiffs_stay_with_images_and_stacks_are_not_cut_to_one_page(tmp_path, make_image):
    gray16 = _write(tmp_path / "gray16.tif", as_uint16(camera_planes(1, side=40)[0]))
    rgb8 = make_image(tmp_path / "rgb8.tif", channels=3).path  # written by OpenCV
    for plain in (gray16, rgb8):
        assert not is_stack(plain)
        read_image(plain)  # OpenCV reads them, exactly as before
    stack = _write(tmp_path / "stack.tif", as_uint16(camera_planes(2, side=40)))
    floats = _write(tmp_path / "float.tif", camera_planes(1, side=40)[0].astype(np.float32))
    for path in (stack, floats):
        assert is_stack(path)
        with pytest.raises(ImageReadError, match="TIFF stack or scientific TIFF"):
            read_image(path)  # never its first page alone


def test_corrupt_gives_each_page_its_own_noise(runner, tmp_path):
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "flat.tif", np.full((3, 64, 64), 30000, np.uint16), photometric="minisblack")
    result = runner.invoke(main, ["corrupt", str(tmp_path / "in"), str(tmp_path / "out"), "--noise", "gaussian",
                                  "-p", "sigma=25", "--seed", "1"])
    assert result.exit_code == 0, result.output
    noisy = tifffile.imread(tmp_path / "out" / "flat.tif").astype(np.float64)
    assert noisy.shape == (3, 64, 64)
    for page in noisy:
        assert np.std(page) == pytest.approx(25 * 257, rel=0.1)
    assert np.corrcoef(noisy[0].ravel(), noisy[1].ravel())[0, 1] < 0.1  # not the same noise on every page


def test_a_damaged_file_read_on_another_thread_never_marks_a_good_one_damaged(tmp_path):
    """clean reads files on several threads at once: tifffile's warnings about one file (logged
    process-wide) must stay with the thread that read it."""
    from concurrent.futures import ThreadPoolExecutor

    from denoisekit.stacks import TiffStack

    pages = as_uint16(noisy_version(camera_planes(3, side=64)))
    tifffile.imwrite(tmp_path / "good.tif", pages, photometric="minisblack")
    data = (tmp_path / "good.tif").read_bytes()
    (tmp_path / "truncated.tif").write_bytes(data[: len(data) * 3 // 5])

    def open_and_close(path):
        try:
            TiffStack(path).tif.close()
            return "ok"
        except ImageReadError as err:
            return str(err)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(open_and_close, [tmp_path / name for name in ("good.tif", "truncated.tif") * 100]))
    assert set(outcomes[0::2]) == {"ok"}
    assert all("damaged or truncated" in outcome for outcome in outcomes[1::2])
