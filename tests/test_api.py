"""denoisekit's Python API: arrays in, arrays of the same dtype and shape out, by the code `clean`,
`corrupt` and `metrics` run on files; a wrong array is one clear TypeError or ValueError."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import denoisekit
from denoisekit.cli import main
from clean_fixtures import add_noise, clean_models, smooth_images  # noqa: F401

#: Every layout the API takes: (shape after H, W; what it is).
LAYOUTS = [((), "gray, 2-D"), ((1,), "gray"), ((2,), "gray + alpha"), ((3,), "RGB"), ((4,), "RGBA")]


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory) -> Path:
    """A gray U-Net whose weights are all zero: it predicts no noise, so it returns its input."""
    from denoisekit.builtins.architectures import ResidualUNet
    from denoisekit.modelio import attach_metadata

    model = ResidualUNet().build(1, features=4, levels=2)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    path = tmp_path_factory.mktemp("identity") / "identity.keras"
    attach_metadata(model, {"arch": "unet", "channels": 1, "corruption": "gaussian", "size_multiple": 4}).save(path)
    return path


def image(dtype, extra: tuple[int, ...], height: int = 30, width: int = 42, seed: int = 0) -> np.ndarray:
    """A random image of ``dtype`` covering its whole range; alpha (the last of 2 or 4 channels) too."""
    rng = np.random.default_rng(seed)
    unit = rng.random((height, width, *extra))
    if np.dtype(dtype).kind == "f":
        return unit.astype(dtype)
    return np.rint(unit * np.iinfo(dtype).max).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
@pytest.mark.parametrize("extra,what", LAYOUTS)
def test_denoise_returns_the_dtype_and_shape_it_was_given(identity_model, dtype, extra, what):
    given = image(dtype, extra)
    restored = denoisekit.denoise(given, model=identity_model)
    assert restored.dtype == given.dtype and restored.shape == given.shape, what
    # The identity network hands back every value: integers exactly (not rescaled, so an 8-bit
    # image cannot come back almost white), floats to float32's precision; alpha untouched.
    if np.dtype(dtype).kind == "f":
        np.testing.assert_allclose(restored, given, atol=1e-6)
    else:
        np.testing.assert_array_equal(restored, given)


@pytest.mark.slow
def test_denoise_of_an_8_bit_image_is_what_clean_writes_for_its_file(clean_models, tmp_path):
    clean = np.rint(smooth_images(1, 45, 61, 1, seed=3)[0, ..., 0] * 255).astype(np.uint8)
    noisy = np.rint(add_noise(clean[..., None] / 255.0, seed=4)[..., 0] * 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "noisy.png"), noisy)
    result = CliRunner().invoke(main, ["clean", str(tmp_path / "noisy.png"), str(tmp_path / "out"),
                                       "--model", str(clean_models.gray)])
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(tmp_path / "out" / "noisy.png"), cv2.IMREAD_UNCHANGED)

    restored = denoisekit.denoise(noisy, model=clean_models.gray)
    np.testing.assert_array_equal(restored, written)
    # and it denoises: nearer the clean image than the noisy input, on the same 8-bit scale
    assert denoisekit.psnr(clean, restored) > denoisekit.psnr(clean, noisy) + 1.5
    assert abs(float(restored.mean()) - float(clean.mean())) < 3


def test_clean_on_a_folder_writes_and_reports_what_the_command_does(clean_models, tmp_path):
    noisy = np.rint(add_noise(smooth_images(2, 40, 52, 1, seed=5), seed=6)[..., 0] * 255).astype(np.uint8)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "in" / "a.png"), noisy[0])
    cv2.imwrite(str(tmp_path / "in" / "sub" / "b.png"), noisy[1])
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    command = CliRunner().invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "cli"), "--model",
                                        str(clean_models.gray), "--json"])
    run = denoisekit.clean(tmp_path / "in", tmp_path / "py", model=clean_models.gray)
    assert run.ok and [r.status for r in run.results] == ["written", "written"]
    assert run.skipped == [Path("notes.txt")]
    for rel in ("a.png", "sub/b.png"):
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / "py" / rel)), cv2.imread(str(tmp_path / "cli" / rel)))
    rows = json.loads(command.stdout)["files"]
    assert [r["file"] for r in run.report.rows] == [r["file"] for r in rows] == ["a.png", "sub/b.png"]
    assert [r["output"]["sigma"] for r in run.report.rows] == pytest.approx([r["output"]["sigma"] for r in rows])
    with pytest.raises(ValueError, match="tiles"):  # checked before any file is read
        denoisekit.clean(tmp_path / "in", tmp_path / "bad", tiles=3)
    with pytest.raises(ValueError, match="no such file or folder"):
        denoisekit.clean(tmp_path / "missing", tmp_path / "bad")
    with pytest.raises(ValueError, match="missing-refs: no such file or folder"):  # not "no reference" per image
        denoisekit.clean(tmp_path / "in", tmp_path / "bad", reference=tmp_path / "missing-refs")
    assert not (tmp_path / "bad").exists()


def test_a_loaded_model_carries_its_metadata_and_restores_as_denoise_does(clean_models):
    from denoisekit.modelio import peek_metadata

    model = denoisekit.load(clean_models.gray)
    assert model.metadata == peek_metadata(clean_models.gray)
    assert (model.channels, model.task, model.size_multiple, model.path) == (1, "denoise", 4, clean_models.gray)
    noisy = image(np.uint8, (3,), seed=5)
    np.testing.assert_array_equal(model(noisy), denoisekit.denoise(noisy, model=clean_models.gray))
    np.testing.assert_array_equal(model(noisy, tile=16, overlap=8), denoisekit.denoise(noisy, model=model, tile=16,
                                                                                       overlap=8))
    assert "gray.keras" not in repr(model) and "'gray'" in repr(model)


def test_a_model_file_written_again_is_loaded_again(clean_models, identity_model, tmp_path):
    import os
    import shutil

    noisy = image(np.uint8, (), seed=10)
    path = tmp_path / "model.keras"
    shutil.copy(clean_models.gray, path)
    assert not np.array_equal(denoisekit.denoise(noisy, model=path), noisy)
    shutil.copy(identity_model, path)  # retrained in the same session: the new weights count
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    np.testing.assert_array_equal(denoisekit.denoise(noisy, model=path), noisy)


def test_denoise_takes_the_other_restorers_and_their_parameters():
    noisy = image(np.uint8, (), seed=6)
    restored = denoisekit.denoise(noisy, restorer="median", size=3)
    np.testing.assert_array_equal(restored, cv2.medianBlur(noisy, 3))


def test_float_pixels_a_rounding_past_0_or_1_are_taken_clipped():
    image = np.linspace(0, 1, 16 * 16).reshape(16, 16) * (1 + 1e-12) - 1e-12  # arithmetic's rounding
    restored = denoisekit.denoise(image, restorer="median", size=3)
    assert restored.dtype == np.float64 and 0.0 <= restored.min() and restored.max() <= 1.0
    with pytest.raises(ValueError, match=r"span -0.001\.\.0.999"):  # past that, still refused
        denoisekit.denoise(image - 0.001, restorer="median")


@pytest.mark.parametrize("bad,error,words", [
    (lambda: image(np.uint8, ()).astype(np.int64), TypeError, "uint8"),
    (lambda: np.zeros((8, 8), bool), TypeError, "uint8"),
    (lambda: image(np.uint8, ()).astype(np.float32), ValueError, "[0, 1]"),
    (lambda: np.full((8, 8), np.nan, np.float32), ValueError, "NaN"),
    (lambda: np.zeros((3, 20, 24), np.uint8), ValueError, "np.moveaxis"),
    (lambda: np.zeros((4, 20, 24, 1), np.uint8), ValueError, "restore_array"),
    (lambda: np.zeros((20, 24, 5), np.uint8), ValueError, "(H, W, C)"),
    (lambda: np.zeros((0, 24), np.uint8), ValueError, "empty"),
    # numpy's in-place arithmetic skips masked pixels: they stayed 0-255 among 0-1 values
    (lambda: np.ma.masked_array(image(np.uint8, ()), mask=image(np.uint8, ()) > 200), TypeError, "filled"),
])
def test_a_wrong_array_is_one_clear_error_before_any_model_loads(bad, error, words):
    with pytest.raises(error, match=None) as raised:
        denoisekit.denoise(bad(), model="no-such-model")  # the array is checked first
    assert words in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("call,words", [
    (lambda img: denoisekit.denoise(img, model="no-such-model"), "no bundled model of that name"),
    (lambda img: denoisekit.denoise(img, tiles=3), "has no parameter 'tiles'"),
    (lambda img: denoisekit.denoise(img, tile="big"), "tile='big' is not a valid int"),
    (lambda img: denoisekit.denoise(img, restorer="median", model="gaussian"), "takes no model"),
    (lambda img: denoisekit.denoise(img, restorer="no-such"), "no restorer named 'no-such'"),
    (lambda img: denoisekit.make_restorer("no-such"), "no restorer named 'no-such'"),
    (lambda img: denoisekit.make_restorer("median")(np.zeros((8, 9), np.float32)), "(H, W, C)"),
    (lambda img: denoisekit.restore_array(np.zeros((0, 16, 16), np.uint8), "ZYX"), "the array is empty"),
    (lambda img: denoisekit.corrupt(img, "no-such"), "no corruption named 'no-such'"),
    (lambda img: denoisekit.corrupt(img, "gaussian", sigma=-1), "sigma=-1 is outside"),
    (lambda img: denoisekit.corrupt(img, "gaussian", seed=2**31), "outside 0..2147483647"),  # was the noise of 0
    (lambda img: denoisekit.load("gaussian"), "gaussian-gray"),
    (lambda img: denoisekit.load("no-such.keras"), "no model file"),
    (lambda img: denoisekit.psnr(img, img[:, :-1]), "differ in shape"),
])
def test_wrong_arguments_are_value_errors_that_say_what_to_change(call, words):
    with pytest.raises(ValueError) as raised:
        call(image(np.uint8, ()))
    assert words in str(raised.value) and "\n" not in str(raised.value)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_corrupt_keeps_dtype_shape_and_alpha_and_repeats_with_its_seed(dtype):
    given = image(dtype, (4,), seed=7)
    noisy = denoisekit.corrupt(given, "gaussian", sigma=25, seed=3)
    assert noisy.dtype == given.dtype and noisy.shape == given.shape
    np.testing.assert_array_equal(noisy[..., 3], given[..., 3])
    np.testing.assert_array_equal(noisy, denoisekit.corrupt(given, "gaussian", sigma=25, seed=3))
    assert not np.array_equal(noisy, denoisekit.corrupt(given, "gaussian", sigma=25, seed=4))
    top = 1.0 if np.dtype(dtype).kind == "f" else np.iinfo(dtype).max
    difference = (noisy[..., :3].astype(np.float64) - given[..., :3]) / top
    assert 0.07 < difference.std() < 0.1  # sigma 25 of 255, less what clipping at 0 and 1 takes


def test_corrupt_of_a_2d_image_matches_the_corrupt_command(tmp_path):
    given = image(np.uint8, (), seed=8)
    cv2.imwrite(str(tmp_path / "a.png"), given)
    result = CliRunner().invoke(main, ["corrupt", str(tmp_path / "a.png"), str(tmp_path / "out"),
                                       "--noise", "salt-and-pepper", "-p", "amount=0.2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(tmp_path / "out" / "a.png"), cv2.IMREAD_UNCHANGED)
    noisy = denoisekit.corrupt(given, "salt-and-pepper", amount=0.2, seed=5)
    assert noisy.shape == given.shape
    # The command keys the noise by the file's name, the API by nothing: equal amounts, not pixels.
    assert abs(np.mean((noisy == 0) | (noisy == 255)) - np.mean((written == 0) | (written == 255))) < 0.03


def test_psnr_and_ssim_score_each_image_on_its_own_types_scale():
    reference = image(np.uint8, (3,), seed=9)
    test = np.clip(reference.astype(np.int16) + np.random.default_rng(1).integers(-6, 7, reference.shape), 0, 255)
    test = test.astype(np.uint8)
    mse = np.mean((reference.astype(np.float64) - test) ** 2)
    assert denoisekit.psnr(reference, test) == pytest.approx(10 * np.log10(255 ** 2 / mse), abs=1e-4)
    # a float copy in [0, 1] of the same image scores the same
    assert denoisekit.psnr(reference / 255.0, test) == pytest.approx(denoisekit.psnr(reference, test), abs=1e-4)
    assert denoisekit.psnr(reference, reference) == float("inf")
    assert denoisekit.ssim(reference, reference) == pytest.approx(1.0)
    assert 0.0 < denoisekit.ssim(reference, test) < 1.0
    # alpha is left out, as `metrics` leaves it
    opaque = np.dstack([reference, np.full(reference.shape[:2], 255, np.uint8)])
    assert denoisekit.psnr(opaque, np.dstack([test, np.zeros(test.shape[:2], np.uint8)])) == pytest.approx(
        denoisekit.psnr(reference, test))


def test_importing_denoisekit_starts_no_tensorflow():
    code = "import sys, denoisekit; print('tensorflow' in sys.modules, sorted(denoisekit.__all__)[:3])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("False")


def test_train_options_are_checked_before_any_training(tmp_path):
    for kwargs, words in [({"epochs": 0}, "epochs must be an integer of at least 1"),
                          ({"params": {"sigmaa": 3}}, "has no parameter 'sigmaa'"),
                          ({"arch": "no-such"}, "no architecture named 'no-such'"),
                          ({"loss": "l3"}, "loss must be one of"),
                          ({"channels": "cmyk"}, "channels must be one of gray, rgb")]:
        with pytest.raises(ValueError, match=None) as raised:
            denoisekit.train("gaussian", tmp_path / "m.keras", **kwargs)
        assert words in str(raised.value), kwargs
    with pytest.raises(ValueError, match="end in .keras"):
        denoisekit.train("gaussian", tmp_path / "m.h5")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_train_runs_as_the_command_does_and_returns_the_model(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.rint(smooth_images(1, 48, 48, 1, seed=i)[0] * 255).astype(np.uint8))
    model = denoisekit.train("gaussian", tmp_path / "tiny.keras", params={"sigma": (10, 30)}, data=folder,
                             arch_params={"features": 4, "levels": 1}, epochs=2, steps_per_epoch=3, batch=4,
                             patch=16, seed=1, verbose=0)
    assert isinstance(model, denoisekit.Model) and model.path == tmp_path / "tiny.keras"
    meta = model.metadata
    assert (meta["arch"], meta["corruption"], meta["corruption_params"]["sigma"], meta["epochs"]) == \
        ("unet", "gaussian", "10:30", 2)
    assert meta["arch_params"]["features"] == "4" and meta["size_multiple"] == 2
    noisy = image(np.uint8, (), seed=2)
    assert model(noisy).shape == noisy.shape
