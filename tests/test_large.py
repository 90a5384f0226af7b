"""Images larger than memory: receptive fields, map_overlap restoration equal to whole-image
inference, TIFF/zarr in and out chunk by chunk, ``clean --chunk``, and the missing-Dask line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tifffile
from clean_fixtures import add_noise, clean_models, smooth_images, write_unit  # noqa: F401

from denoisekit.cli import main
from denoisekit.large import TiffRegion, aligned_chunks, restore_dask, restore_large
from denoisekit.receptive_field import UnknownLayer, receptive_radius


def noisy(height: int, width: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    return add_noise(smooth_images(1, height, width, channels, seed=seed)[0], seed=seed)


def as_uint(pixels: np.ndarray, dtype=np.uint8) -> np.ndarray:
    return np.rint(pixels * np.iinfo(dtype).max).astype(dtype)


# --------------------------------------------------------------------------- receptive field


@pytest.mark.slow
def test_pixels_beyond_the_receptive_radius_do_not_change_an_output_pixel():
    import keras

    from denoisekit.builtins.architectures import DnCNN, ResidualUNet

    keras.utils.set_random_seed(1)
    models = (ResidualUNet().build(1, features=4, levels=2, bias=True), DnCNN().build(1, features=4, depth=4),
              ResidualUNet().build(1, features=4, levels=2, bias=True, prefill="directed"))
    for model in models:
        radius = receptive_radius(model)
        image = np.random.default_rng(0).random((1, 96, 96, 1), np.float32)
        # Impulses, which the prefill U-Net fills from clean pixels up to its fill's reach away; the
        # pixel watched is one (the prefill U-Net changes nothing else).
        image[np.random.default_rng(2).random(image.shape) < 0.3] = 1.0
        image[0, 48, 48, 0] = 1.0
        changed = image.copy()
        y, x = np.mgrid[0:96, 0:96]
        far = np.maximum(abs(y - 48), abs(x - 48)) > radius
        changed[0, far, 0] = np.random.default_rng(1).random(far.sum())
        before, after = model(image).numpy(), model(changed).numpy()
        assert before[0, 48, 48, 0] == after[0, 48, 48, 0]
        near = np.maximum(abs(y - 48), abs(x - 48)) > radius // 2  # within the field: it does look there
        changed = image.copy()
        changed[0, near, 0] = np.random.default_rng(1).random(near.sum())
        assert model(changed).numpy()[0, 48, 48, 0] != before[0, 48, 48, 0]
    assert receptive_radius(DnCNN().build(1, features=4, depth=6)) == 6  # six 3x3 convolutions


def test_a_dense_model_has_no_receptive_radius():
    from denoisekit.builtins.architectures import BottleneckAutoencoder

    with pytest.raises(UnknownLayer, match="Flatten"):
        receptive_radius(BottleneckAutoencoder().build(1, size=28, latent=4, filters=4))


def test_chunks_start_on_the_grid_and_are_never_shallower_than_the_halo():
    assert aligned_chunks(1000, 256, 64) == (256, 256, 256, 232)
    assert aligned_chunks(1000, 248, 64) == (248, 248, 248, 256)  # 8 left over joins the last
    assert aligned_chunks(100, 256, 64) == (100,)


# --------------------------------------------------------------------------- map_overlap


@pytest.mark.slow
def test_chunked_restoration_equals_whole_image_inference(clean_models):
    import dask.array as da

    from denoisekit.arrays import make_restorer

    restore = make_restorer("model", model=str(clean_models.gray))
    exact, halo, multiple = restore.chunked(1)
    assert halo >= receptive_radius(restore._load(str(clean_models.gray)).model) and halo % multiple == 0
    image = noisy(150, 133)
    chunked = restore_dask(da.from_array(image, chunks=(32, 32, 1)), exact, halo, multiple).compute()
    tiled = exact(image)  # in memory, tiles overlapping by twice the radius
    denoiser = restore._load(str(clean_models.gray))
    padded = np.pad(image, ((0, 2), (0, 3), (0, 0)), mode="reflect")  # to the grid, as tiled_apply pads
    whole = denoiser(padded[None])[0, :150, :133]
    assert np.abs(chunked - tiled).max() < 1e-5
    assert np.abs(chunked - whole).max() < 1e-5
    assert np.abs(chunked - image).mean() > 0.02  # it did restore


@pytest.mark.slow
def test_the_opponent_route_restored_in_chunks_equals_it_restored_whole(clean_models):
    import dask.array as da

    from denoisekit.inference import ModelRestore

    # The chroma restored at half size and brought back up with the mean's detail: the halo
    # covers the model at half size, the bilinear step and the slope's box filters.
    restore = ModelRestore(str(clean_models.gray), color="opponent", chroma_scale=2, declip=False)
    exact, halo, multiple = restore.chunked(3)
    assert multiple % 2 == 0 and halo % multiple == 0
    image = noisy(150, 133, 3, seed=4)
    chunked = restore_dask(da.from_array(image, chunks=(40, 48, 3)), exact, halo, multiple).compute()
    assert np.abs(chunked - exact(image)).max() < 1e-5
    assert np.abs(chunked - restore(image)).max() < 1e-4  # the default tiles: the same image
    # The default route measures the noise on the image (the chroma's scale, the declipping's level):
    # given the image, the chunks share what the whole image measures, not each its own.
    restore = ModelRestore(str(clean_models.gray), color="opponent")
    image = np.clip((image - 0.5) * 2.5 + 0.5, 0, 1)  # saturated: much to declip
    whole = restore.chunked(3)[0](image)
    exact, halo, multiple = restore.chunked(3, image=da.from_array(image))
    assert exact.chroma_scale == 2 and exact.declip_sigma > 0
    chunked = restore_dask(da.from_array(image, chunks=(40, 48, 3)), exact, halo, multiple).compute()
    assert np.abs(chunked - whole).max() < 1e-5
    unsettled = restore_dask(da.from_array(image, chunks=(40, 48, 3)), *restore.chunked(3)).compute()
    assert np.abs(unsettled - whole).max() > 1e-4  # what the chunks measured on their own


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("layout", [dict(rowsperstrip=7, compression="lzw"), dict(tile=(32, 48), compression="zlib"),
                                    dict(planarconfig="separate", rowsperstrip=10), dict(rowsperstrip=90)])
def test_tiff_regions_read_what_tifffile_reads(tmp_path, layout):
    import pickle

    data = as_uint(noisy(90, 100, 3), np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", data if layout.get("planarconfig") != "separate" else np.moveaxis(data, -1, 0),
                     photometric="rgb", **layout)
    region = TiffRegion(tmp_path / "a.tif")
    assert region.shape == (90, 100, 3) and region.dtype == np.uint16
    np.testing.assert_array_equal(region[13:77, 40:99], data[13:77, 40:99])
    np.testing.assert_array_equal(region[:, :, 1:2], data[..., 1:2])
    np.testing.assert_array_equal(region[50:60, :30], data[50:60, :30])  # strips the last read decoded, reused
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(region))[5:9, 7:8], data[5:9, 7:8])  # as Dask ships it


def test_chunks_side_by_side_decode_a_strip_they_share_once(tmp_path):
    """A TIFF stored as one strip (tifffile's default when uncompressed) was decoded whole again
    for every chunk: time grew with the image times the chunks, not with the image."""
    data = as_uint(noisy(60, 90, 1))[..., 0]
    tifffile.imwrite(tmp_path / "one-strip.tif", data)
    region = TiffRegion(tmp_path / "one-strip.tif")
    decoded = []
    for left in range(0, 90, 30):
        np.testing.assert_array_equal(region[:, left:left + 30, 0], data[:, left:left + 30])
        assert list(region._decoded) == [0]  # the one strip, kept
        decoded.append(id(region._decoded[0][0]))
    assert len(set(decoded)) == 1  # decoded by the first read, reused by the next two


@pytest.mark.slow
def test_a_tiff_restored_in_chunks_equals_it_restored_whole(tmp_path, clean_models):
    from denoisekit.arrays import make_restorer
    from denoisekit.images import to_integers

    rgba = np.dstack([as_uint(noisy(130, 150, 3, seed=3)), np.full((130, 150), 200, np.uint8)])
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tifffile.imwrite(tmp_path / "in.tif", rgba, photometric="rgb", extrasamples=[2], rowsperstrip=16,
                     compression="lzw", resolution=(300, 300), iccprofile=icc,
                     extratags=[(274, 3, 1, 6, True), (271, 2, 0, "TestCam", True)])  # turned
    restore = make_restorer("model", model=str(clean_models.gray))
    done = restore_large(tmp_path / "in.tif", tmp_path / "out.tif", restorer=restore, chunk=64)
    assert done.shape == (130, 150, 4) and done.halo % 4 == 0 and done.chunk == 64
    exact, _, _ = restore.chunked(3)
    expected = to_integers(exact(rgba[..., :3].astype(np.float32) / 255), np.uint8)
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        page = tif.pages.first
        out = page.asarray()
        assert page.is_tiled and page.compression == 5 and page.resolution == (300, 300)
        assert page.tags[274].value == 6  # restored as stored, still shown turned as the input is
        assert page.iccprofile == icc and page.tags[271].value == "TestCam"  # profile and camera kept
    np.testing.assert_array_equal(out[..., :3], expected)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])  # alpha kept
    assert not list(tmp_path.glob(".*"))  # no temporary left


@pytest.mark.slow
def test_zarr_in_and_out(tmp_path, clean_models):
    import zarr

    gray = as_uint(noisy(100, 90, seed=4), np.uint16)[..., 0]
    tifffile.imwrite(tmp_path / "in.tif", gray)
    stored = zarr.open_array(str(tmp_path / "in.zarr"), mode="w", shape=gray.shape, chunks=(40, 40), dtype=gray.dtype)
    stored[:] = gray
    restore_large(tmp_path / "in.tif", tmp_path / "out.tif", model=str(clean_models.gray), chunk=64)
    restore_large(tmp_path / "in.zarr", tmp_path / "out.zarr", model=str(clean_models.gray), chunk=64)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "out.zarr"))[:][..., 0],
                                  tifffile.imread(tmp_path / "out.tif"))
    with pytest.raises(FileExistsError):
        restore_large(tmp_path / "in.zarr", tmp_path / "out.zarr", model=str(clean_models.gray))


# --------------------------------------------------------------------------- clean --chunk


@pytest.mark.slow
def test_clean_chunk_restores_tiffs_in_chunks_and_other_images_as_usual(runner, tmp_path, clean_models):
    write_unit(tmp_path / "in" / "small.png", noisy(40, 44))
    big = as_uint(noisy(140, 120, seed=5))[..., 0]
    tifffile.imwrite(tmp_path / "in" / "big.tif", big, compression="zlib")
    from denoisekit.arrays import make_restorer

    overlap = make_restorer("model", model=str(clean_models.gray)).chunked(1)[0].overlap
    chunked = runner.invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "chunked"), "--model",
                                   str(clean_models.gray), "--chunk", "64", "--report", str(tmp_path / "r.json")])
    assert chunked.exit_code == 0, chunked.stderr
    assert "images restored in chunks of 64 px" in chunked.stderr
    whole = runner.invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "whole"), "--model",
                                 str(clean_models.gray), "--overlap", str(overlap)])
    assert whole.exit_code == 0, whole.stderr
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "chunked" / "big.tif"),
                                  tifffile.imread(tmp_path / "whole" / "big.tif"))
    assert (tmp_path / "chunked" / "small.png").read_bytes() != b""
    again = runner.invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "chunked"), "--model",
                                 str(clean_models.gray), "--chunk", "64"])
    assert again.exit_code == 0 and "0 written, 2 kept" in again.stderr  # resume, without reading the TIFF whole
    assert "big.tif (kept)" in again.stdout
    # A banner thinner than the halo is chunked along its length only; a gray-and-alpha TIFF,
    # which chunks do not take, is restored whole with a note, not failed.
    (tmp_path / "more").mkdir()
    tifffile.imwrite(tmp_path / "more" / "banner.tif", as_uint(noisy(12, 200, seed=6))[..., 0])
    tifffile.imwrite(tmp_path / "more" / "la.tif", np.dstack([big, np.full_like(big, 200)]),
                     photometric="minisblack", extrasamples=("unassalpha",))
    more = runner.invoke(main, ["clean", str(tmp_path / "more"), str(tmp_path / "more-out"), "--model",
                                str(clean_models.gray), "--chunk", "64"])
    assert more.exit_code == 0, more.stderr
    assert "la.tif: 2 samples" in more.stderr and "restored whole" in more.stderr
    banner = runner.invoke(main, ["clean", str(tmp_path / "more" / "banner.tif"), str(tmp_path / "banner.tif"),
                                  "--model", str(clean_models.gray), "--overlap", str(overlap)])
    assert banner.exit_code == 0, banner.stderr
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "more-out" / "banner.tif"),
                                  tifffile.imread(tmp_path / "banner.tif"))
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "more-out" / "la.tif")[..., 1], 200)


def test_chunk_is_for_the_model_restorer_only(runner, tmp_path):
    write_unit(tmp_path / "in" / "a.png", noisy(20, 20))
    result = runner.invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "out"), "--restorer", "median",
                                  "--chunk", "256"])
    assert result.exit_code == 2 and "only the model restorer restores images in chunks" in result.stderr


@pytest.mark.parametrize("option", [["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:1"], ["--chunk", "512"]])
def test_without_dask_the_options_say_what_to_install(runner, tmp_path, monkeypatch, option):
    write_unit(tmp_path / "in" / "a.png", noisy(20, 20))
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if not installed
    result = runner.invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "out"), *option])
    assert result.exit_code == 2
    assert result.stderr == f"error: {option[0]} needs Dask: pip install 'denoisekit[dask]'\n"
    assert not (tmp_path / "out").exists()
