"""The builtin restorers (model, median, switching-median, nlmeans, bm3d) and a third-party restorer plugin."""

from __future__ import annotations

import sys
import types

import cv2
import numpy as np
import pytest
from clean_fixtures import add_noise, clean_models, register_inline_plugin, smooth_images  # noqa: F401
from scipy.ndimage import median_filter

from denoisekit import modelio
from denoisekit.builtins.restorers import bm3d_available
from denoisekit.plugins import get_registry, restorer
from denoisekit.reports.scores import psnr


def make(name: str, **params):
    found = restorer(name)
    values = {p.name: p.default for p in found.params}
    return found.obj.make(**{**values, **params})


def test_builtin_restorers_are_registered_through_the_hook():
    table = get_registry().table("restorer")
    assert {"model", "median", "switching-median", "nlmeans"} <= set(table)
    assert all(r.provider == "denoisekit (builtin)" for r in table.values())
    assert [p.name for p in table["model"].params] == ["model", "tile", "overlap", "batch", "keep_untouched", "fill", "ensemble",
                                                       "chroma_radius", "chroma_map", "chroma_cap", "chroma_gain", "color",
                                                       "chroma_scale", "declip",
                                                       "rgb_share"]


# --------------------------------------------------------------------------- median


def test_median_small_windows_work_on_floats_directly():
    image = np.random.default_rng(0).random((30, 40, 3), dtype=np.float32)
    np.testing.assert_array_equal(make("median", size=5)(image), cv2.medianBlur(image, 5))
    gray = image[..., :1]
    np.testing.assert_array_equal(make("median", size=3)(gray)[..., 0], cv2.medianBlur(gray[..., 0], 3))


def test_switching_median_replaces_only_impulses_by_the_median_of_clean_neighbours():
    image = np.full((7, 7, 1), 0.5, np.float32)
    image[3, 3] = 1.0  # an impulse whose 3x3 window holds 8 clean pixels
    image[2, 2], image[2, 3], image[2, 4] = 0.2, 0.3, 0.9
    image[0, :3] = 0.0  # three impulses in a row at the border
    out = make("switching-median")(image)
    untouched = (image > 0) & (image < 1)
    np.testing.assert_array_equal(out[untouched], image[untouched])
    assert out[3, 3, 0] == pytest.approx(np.median([0.2, 0.3, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5]))
    assert np.all((out[0, :3] > 0) & (out[0, :3] < 1))  # each found clean pixels in some window


def test_switching_median_keeps_saturated_colour_and_beats_the_median_filter():
    rng = np.random.default_rng(3)
    clean = cv2.GaussianBlur(rng.random((96, 96, 3)).astype(np.float32), (0, 0), 3)
    clean[:10, :10] = (1.0, 0.0, 0.0)  # pure red is not an impulse: not every channel is 0 or 1
    noisy = clean.copy()
    hit = rng.random((96, 96)) < 0.3
    noisy[hit] = np.where(rng.random(hit.sum()) < 0.5, 0.0, 1.0)[:, None]
    out = make("switching-median")(noisy)
    np.testing.assert_array_equal(out[:10, :10][~hit[:10, :10]], clean[:10, :10][~hit[:10, :10]])
    assert psnr(clean, out) > psnr(clean, make("median", size=5)(noisy)) + 5


def test_median_large_window_on_8_bit_data_uses_opencv_bytes():
    stored = np.random.default_rng(1).integers(0, 256, (30, 40, 1), dtype=np.uint8)
    out = make("median", size=7)(stored.astype(np.float32) / 255)
    np.testing.assert_array_equal(np.rint(out[..., 0] * 255).astype(np.uint8), cv2.medianBlur(stored[..., 0], 7))


def test_median_large_window_keeps_16_bit_precision():
    stored = np.random.default_rng(2).integers(0, 65536, (30, 40, 3), dtype=np.uint16)
    image = stored.astype(np.float32) / 65535
    out = make("median", size=9)(image)
    np.testing.assert_array_equal(out, median_filter(image, size=(9, 9, 1), mode="nearest"))
    assert np.abs(out * 255 - np.rint(out * 255)).max() > 0.01  # not quantised to 8 bits


def test_median_removes_salt_and_pepper():
    clean = smooth_images(1, 64, 64, 1, seed=3)[0]
    noisy = clean.copy()
    mask = np.random.default_rng(3).random(clean.shape) < 0.1
    noisy[mask] = np.random.default_rng(4).integers(0, 2, mask.sum())
    assert psnr(clean, make("median", size=3)(noisy)) > psnr(clean, noisy) + 8


def test_median_size_must_be_odd():
    with pytest.raises(ValueError, match="odd"):
        make("median", size=4)


# --------------------------------------------------------------------------- nlmeans


@pytest.mark.parametrize("channels", [1, 3])
def test_nlmeans_denoises_with_the_estimated_noise_level(channels):
    tint = np.array([1.0, 0.8, 0.6], np.float32)[:channels]  # channels correlated, as in photos
    clean = smooth_images(1, 64, 64, 1, seed=5)[0] * tint + 0.1
    noisy = add_noise(clean, seed=6)
    out = make("nlmeans")(noisy)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert psnr(clean, out) > psnr(clean, noisy) + 3
    weak = make("nlmeans", h=1.0)(noisy)  # h given explicitly: barely filters
    assert psnr(clean, weak) < psnr(clean, out)


# --------------------------------------------------------------------------- bm3d


def test_bm3d_is_registered_only_when_the_package_imports(monkeypatch):
    monkeypatch.setitem(sys.modules, "bm3d", None)  # `import bm3d` raises ImportError
    assert not bm3d_available()
    assert "bm3d" not in get_registry().table("restorer")


def test_bm3d_restorer_calls_the_package_with_sigma_on_the_unit_scale(monkeypatch):
    calls = []
    fake = types.ModuleType("bm3d")
    fake.bm3d = lambda z, sigma: (calls.append(("gray", z.shape, sigma)), np.full(z.shape, 0.5))[1]
    fake.bm3d_rgb = lambda z, sigma: (calls.append(("rgb", z.shape, sigma)), np.full(z.shape, 0.5))[1]
    monkeypatch.setitem(sys.modules, "bm3d", fake)
    fn = make("bm3d", sigma=25.5)
    assert fn(np.zeros((8, 9, 1), np.float32)).shape == (8, 9, 1)
    assert fn(np.zeros((8, 9, 3), np.float32)).shape == (8, 9, 3)
    assert calls == [("gray", (8, 9), 0.1), ("rgb", (8, 9, 3), 0.1)]
    estimated = make("bm3d")  # sigma estimated from the image
    estimated(add_noise(smooth_images(1, 32, 32, 1)[0]))
    assert 0.06 < calls[-1][2] < 0.14


@pytest.mark.slow
def test_bm3d_really_denoises_when_installed():
    """The optional package: a real run where it is installed, else it must not be offered."""
    if not bm3d_available():
        assert "bm3d" not in get_registry().table("restorer")
        return
    clean = smooth_images(1, 48, 48, 1, seed=7)[0]
    noisy = add_noise(clean, seed=8)
    assert psnr(clean, make("bm3d")(noisy)) > psnr(clean, noisy) + 3


# --------------------------------------------------------------------------- model


def test_model_restorer_with_a_missing_bundled_model_says_pass_model_path(monkeypatch, tmp_path):
    monkeypatch.setattr(modelio, "BUNDLED_DIR", tmp_path)
    for spec in ("gaussian", "gaussian-gray", "missing.keras"):
        with pytest.raises(modelio.ModelLoadError, match="pass --model PATH"):
            make("model", model=spec)


@pytest.mark.slow
def test_model_restorer_denoises_and_adapts_channels(clean_models):
    fn = make("model", model=str(clean_models.gray), tile=32, overlap=16)
    clean = smooth_images(1, 60, 70, 3, seed=9)[0]
    noisy = add_noise(clean, seed=10)
    out = fn(noisy[..., :1])
    assert out.shape == (60, 70, 1) and psnr(clean[..., :1], out) > psnr(clean[..., :1], noisy[..., :1]) + 1
    assert fn.notes == [] and fn.last_model == "gray.keras"
    out = fn(noisy)  # gray model, RGB image: per channel
    assert out.shape == (60, 70, 3)
    for c in range(3):
        np.testing.assert_allclose(out[..., c:c + 1], fn(noisy[..., c:c + 1]), atol=1e-6)
    assert fn.notes == ["gray model gray.keras on RGB images: each channel restored on its own"]

    color = make("model", model=str(clean_models.color))
    assert color(noisy[..., :1]).shape == (60, 70, 1)
    assert "converted back to gray" in color.notes[0]

    colorize = make("model", model=str(clean_models.colorize))
    assert colorize(noisy[..., :1]).shape == (60, 70, 3)
    assert colorize.notes == ["colorization model colorize.keras: gray images become RGB"]


@pytest.mark.slow
def test_model_task_picks_the_bundled_model_by_channel_count(monkeypatch, tmp_path, clean_models):
    (tmp_path / "gaussian-gray.keras").write_bytes(clean_models.gray.read_bytes())
    (tmp_path / "gaussian-color.keras").write_bytes(clean_models.color.read_bytes())
    monkeypatch.setattr(modelio, "BUNDLED_DIR", tmp_path)
    fn = make("model")  # default: the gaussian task
    assert fn(np.full((16, 16, 1), 0.5, np.float32)).shape == (16, 16, 1) and fn.last_model == "gaussian-gray"
    # Color images: the gray model per opponent-colour channel; the color model only when named.
    assert fn(np.full((16, 16, 3), 0.5, np.float32)).shape == (16, 16, 3)
    assert fn.last_model == "gaussian-gray"
    alone = make("model", model="gaussian-color")
    assert alone(np.full((16, 16, 3), 0.5, np.float32)).shape == (16, 16, 3) and alone.last_model == "gaussian-color"
    assert fn.notes == [] and alone.notes == []


def test_fixed_size_model_is_tiled_at_its_size(clean_models):
    fn = make("model", model=str(clean_models.fixed))
    assert fn(np.random.default_rng(0).random((50, 33, 1), dtype=np.float32)).shape == (50, 33, 1)


# --------------------------------------------------------------------------- a third-party plugin


def test_a_third_party_restorer_plugs_in_through_the_same_hook():
    register_inline_plugin()
    found = restorer("invert-test")
    assert found.provider == "dk-invert-test"
    image = np.random.default_rng(0).random((5, 6, 3), dtype=np.float32)
    np.testing.assert_allclose(found.obj.make(amount=1.0)(image), 1 - image, atol=1e-7)


@pytest.mark.slow
def test_salt_and_pepper_model_keeps_the_pixels_impulses_cannot_have_touched():
    from skimage import data

    from denoisekit.images import to_integers
    from denoisekit.noise_ops import apply_corruption
    from denoisekit.plugins import corruption

    clean = data.camera()[200:296, 200:296, None].astype(np.float32) / 255.0
    noisy = apply_corruption(corruption("salt-and-pepper").obj, clean, {"amount": 0.3, "salt_vs_pepper": 0.5}, 4)
    noisy = to_integers(noisy, np.uint8).astype(np.float32) / 255.0  # as a stored file
    untouched = (noisy > 0) & (noisy < 1)
    assert 0.6 < untouched.mean() < 0.8  # about 30% of the pixels are impulses
    kept = make("model", model="salt-and-pepper-gray")(noisy)
    raw = make("model", model="salt-and-pepper-gray", keep_untouched=False)(noisy)
    # Every pixel that is not pure black or white is the clean pixel itself, and stays so: the
    # bundled model (a prefill U-Net) changes only the impulses even on its own.
    np.testing.assert_array_equal(kept[untouched], noisy[untouched])
    np.testing.assert_array_equal(raw, kept)
    classical = make("impulse-fill")(noisy)
    assert psnr(clean, kept) > psnr(clean, classical) + 1.0
    assert psnr(clean, classical) > psnr(clean, make("switching-median")(noisy))
    # fill blends the classical fill in at the impulses, nowhere else.
    blended = make("model", model="salt-and-pepper-gray", fill=0.5)(noisy)
    np.testing.assert_array_equal(blended[untouched], noisy[untouched])
    np.testing.assert_allclose(blended[~untouched], 0.5 * (kept[~untouched] + classical[~untouched]), atol=1e-6)
    # A Gaussian model keeps nothing: any pixel may be noisy.
    assert corruption("gaussian").obj.untouched(noisy) is None


@pytest.mark.slow
def test_self_ensemble_averages_the_eight_flips_and_rotations(clean_models):
    clean = smooth_images(1, 40, 56, 1, seed=3)[0]  # not square: rotations change the shape
    noisy = add_noise(clean, seed=4)
    plain = make("model", model=str(clean_models.gray), tile=32, overlap=16)
    expected = np.zeros_like(noisy)
    for turns in range(4):
        for flip in (False, True):
            view = np.rot90(noisy, turns)
            view = np.ascontiguousarray(view[:, ::-1] if flip else view)
            restored = plain(view)
            expected += np.rot90(restored[:, ::-1] if flip else restored, -turns)
    ensemble = make("model", model=str(clean_models.gray), tile=32, overlap=16, ensemble=True)
    out = ensemble(noisy)
    assert out.shape == noisy.shape
    np.testing.assert_allclose(out, expected / 8, atol=1e-6)
    assert psnr(clean, out) > psnr(clean, plain(noisy))  # averaging 8 estimates cuts their error


def test_clean_ensemble_flag_is_the_model_restorers_parameter(clean_models, tmp_path):
    from click.testing import CliRunner

    from denoisekit.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), (add_noise(smooth_images(1, 48, 48, 1, seed=5)[0], seed=6) * 255).astype(np.uint8))
    runner = CliRunner()
    args = ["clean", str(folder), "--model", str(clean_models.gray), "--json"]
    assert runner.invoke(main, [*args, str(tmp_path / "a"), "--ensemble"]).exit_code == 0
    assert runner.invoke(main, [*args, str(tmp_path / "b")]).exit_code == 0
    ensembled = cv2.imread(str(tmp_path / "a" / "a.png"), cv2.IMREAD_UNCHANGED)
    single = cv2.imread(str(tmp_path / "b" / "a.png"), cv2.IMREAD_UNCHANGED)
    assert ensembled.shape == single.shape and not np.array_equal(ensembled, single)
    refused = runner.invoke(main, ["clean", str(folder), str(tmp_path / "c"), "--restorer", "median", "--ensemble"])
    assert refused.exit_code == 2 and "has no 'ensemble' parameter" in refused.output
