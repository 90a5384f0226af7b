"""denoisekit train: a tiny model really learns; metadata, resume, strategies, colorization, digits."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

from denoisekit.cli import main
from denoisekit.modelio import bundled_models, load_denoiser, peek_metadata
from denoisekit.training import trainer
from denoisekit.training.trainer import TrainConfig, TrainingError, train

SPECKLE_PLUGIN = """
import denoisekit
import tensorflow as tf


class Speckle(denoisekit.Corruption):
    name = "speckle-test"
    description = "Multiplicative noise (test plugin)."
    params = (denoisekit.Param("strength", "float", 0.3, 0.0, 1.0),)

    def apply(self, images, seed, strength=0.3):
        return tf.clip_by_value(images * (1 + strength * tf.random.stateless_normal(tf.shape(images), seed)), 0, 1)


@denoisekit.hookimpl
def register_corruptions(register):
    register(Speckle())
"""

TINY_UNET = ["--arch", "unet", "-a", "features=8", "-a", "levels=2"]


@pytest.fixture(scope="module")
def photo_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """Training crops of the astronaut photo, and a held-out crop of the camera image."""
    root = tmp_path_factory.mktemp("photos")
    train_dir, val_dir = root / "train", root / "val"
    train_dir.mkdir(), val_dir.mkdir()
    astronaut = data.astronaut()
    for i, (r, c) in enumerate([(0, 0), (200, 250), (300, 50)]):
        cv2.imwrite(str(train_dir / f"a{i}.png"), cv2.cvtColor(astronaut[r:r + 160, c:c + 160], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(val_dir / "camera.png"), data.camera()[100:228, 150:278])
    return train_dir, val_dir


def run_train(args: list[str]) -> dict:
    result = CliRunner().invoke(main, ["train", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


def log_rows(model: Path) -> list[dict]:
    with open(model.with_name(model.stem + ".ckpt") / "log.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_tiny_model_learns_to_denoise(tmp_path, photo_dirs):
    train_dir, val_dir = photo_dirs
    out = tmp_path / "m.keras"
    summary = run_train(["--noise", "gaussian", "-p", "sigma=25", "--data", str(train_dir), "--val-data", str(val_dir),
                         *TINY_UNET, "--epochs", "4", "--steps-per-epoch", "25", "--batch", "8", "--patch", "48",
                         "--lr", "5e-3", "--out", str(out)])
    rows = log_rows(out)
    assert len(rows) == 4
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    val = summary["validation"]
    assert val["psnr"] > val["input_psnr"] + 1.0  # the held-out camera crop is really denoised
    # The saved model restores a held-out image better than its noisy input, with no extra flags.
    denoiser = load_denoiser(out)
    clean = cv2.imread(str(val_dir / "camera.png"), cv2.IMREAD_GRAYSCALE)[None, ..., None] / 255.0
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape), 0, 1)
    restored = denoiser(noisy.astype(np.float32))
    assert np.mean((restored - clean) ** 2) < np.mean((noisy - clean) ** 2) / 1.25  # > 1 dB better


def test_noise_that_leaves_the_images_as_they_are_trains_without_a_crash(tmp_path, photo_dirs):
    """sigma=0 (or a plugin returning its input): the validation inputs are exact, their PSNR
    infinite; the collapse check and the summary line had crashed on it."""
    train_dir, val_dir = photo_dirs
    args = ["train", "--noise", "gaussian", "-p", "sigma=0", "--data", str(train_dir), "--val-data", str(val_dir),
            *TINY_UNET, "--epochs", "3", "--steps-per-epoch", "2", "--batch", "2", "--patch", "32",
            "--out", str(tmp_path / "s0.keras")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "(input inf)" in result.stdout and (tmp_path / "s0.keras").is_file()


@pytest.mark.slow
def test_metadata_travels_with_the_model(tmp_path, photo_dirs):
    train_dir, val_dir = photo_dirs
    out = tmp_path / "meta.keras"
    run_train(["--noise", "gaussian", "-p", "sigma=0:55", "--data", str(train_dir), "--val-data", str(val_dir),
               *TINY_UNET, "--epochs", "1", "--steps-per-epoch", "3", "--batch", "4", "--patch", "32",
               "--seed", "5", "--out", str(out)])
    meta = load_denoiser(out).metadata
    assert meta["arch"] == "unet" and meta["arch_params"] == {"features": "8", "levels": "2", "bottom": "0",
                                                          "head": "residual", "bias": "False", "prefill": "none"}
    assert meta["corruption"] == "gaussian" and meta["corruption_params"]["sigma"] == "0:55"
    assert meta["channels"] == 1 and meta["patch"] == 32 and meta["seed"] == 5 and meta["size_multiple"] == 4
    assert "3 images" in meta["data"] and "camera.png" in meta["validation_data"]
    assert {"psnr", "ssim", "input_psnr", "input_ssim"} <= set(meta["validation"])
    assert meta["denoisekit_version"]
    assert meta["epochs"] == 1 and meta["best_epoch"] == 1  # which epoch's weights the file holds
    listing = CliRunner().invoke(main, ["models", str(out), "--json"])
    assert listing.exit_code == 0 and json.loads(listing.output)[0]["corruption"] == "gaussian"


@pytest.mark.slow
def test_resume_continues_from_the_checkpoint(tmp_path, photo_dirs):
    import shutil

    train_dir, val_dir = shutil.copytree(photo_dirs[0], tmp_path / "train"), photo_dirs[1]
    out = tmp_path / "r.keras"
    source = ["--data", str(train_dir), "--val-data", str(val_dir), *TINY_UNET,
              "--steps-per-epoch", "3", "--batch", "4", "--patch", "32", "--out", str(out)]
    common = ["--noise", "gaussian", "-p", "sigma=5:40", *source]  # a range: state.json stores it as a list
    run_train([*common, "--epochs", "1"])
    refused = CliRunner().invoke(main, ["train", *common, "--epochs", "2"])
    assert refused.exit_code == 2 and "--resume" in refused.output  # nothing is overwritten unasked (a usage error)
    other_noise = ["--noise", "salt-and-pepper", *source]
    changed = CliRunner().invoke(main, ["train", *other_noise, "--seed", "9", "--epochs", "2", "--resume"])
    assert changed.exit_code == 1  # a resumed run goes on as it started: a change is refused, not ignored
    assert "noise=salt-and-pepper (the run: gaussian)" in changed.output and "seed=9 (the run: 0)" in changed.output
    summary = run_train([*common, "--epochs", "2", "--resume"])  # the same command again, --resume added
    assert summary["epochs"] == 2
    assert [r["epoch"] for r in log_rows(out)] == ["0", "1"]  # one log, continued
    # An image added to the data folder since: not the run it was (it went on without a word).
    shutil.copy(train_dir / "a0.png", train_dir / "a9.png")
    grown = CliRunner().invoke(main, ["train", *common, "--epochs", "3", "--resume"])
    assert grown.exit_code == 1 and "changed since" in grown.output


@pytest.mark.slow
def test_time_limit_ends_the_run_in_time_with_a_decayed_learning_rate(tmp_path, photo_dirs):
    train_dir, val_dir = photo_dirs
    out = tmp_path / "budget.keras"
    summary = run_train(["--noise", "salt-and-pepper", "-p", "amount=0:0.5", "--loss", "l2", "-a", "bias=true",
                         "--data", str(train_dir), "--val-data", str(val_dir), *TINY_UNET, "--lr", "1e-3",
                         "--epochs", "1000", "--steps-per-epoch", "2", "--batch", "4", "--patch", "32",
                         "--time-limit", "4", "--out", str(out)])
    # Stopped by the clock, long before --epochs, with a finished model and its metadata.
    assert 1 <= summary["epochs"] < 1000 and summary["time_limit"] == 4
    assert len(log_rows(out)) == summary["epochs"]
    assert summary["arch_params"]["bias"] == "True" and summary["loss"] == "l2"
    assert summary["arch_params"]["prefill"] == "directed"  # the U-Net's default for impulse noise


def test_tf_distribute_strategies_refuse_other_keras_backends(tmp_path, photo_dirs, monkeypatch):
    import keras

    train_dir, val_dir = photo_dirs
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    result = CliRunner().invoke(main, ["train", "--noise", "gaussian", "--data", str(train_dir), "--val-data",
                                       str(val_dir), *TINY_UNET, "--strategy", "mirrored",
                                       "--out", str(tmp_path / "m.keras")])
    assert result.exit_code == 1
    assert "--strategy mirrored needs Keras' TensorFlow backend (KERAS_BACKEND is 'jax')" in result.output
    assert not (tmp_path / "m.keras").exists()


def test_time_budget_schedule_is_a_cosine_over_the_budget():
    from denoisekit.training.trainer import _TimeBudget

    # A resumed run that already spent half its budget is at the cosine's midpoint.
    halfway = _TimeBudget(limit=100.0, learning_rate=1e-3, elapsed=lambda: 50.0).learning_rate()
    assert halfway == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5), rel=1e-3)
    spent = _TimeBudget(limit=100.0, learning_rate=1e-3, elapsed=lambda: 150.0).learning_rate()
    assert spent == pytest.approx(1e-5)  # past the budget: the floor, 1% of the start


def test_bias_parameter_switches_every_convolution(tmp_path):
    from denoisekit.plugins import architecture

    for name in ("unet", "dncnn"):
        arch = architecture(name).obj
        params = {"features": 4, "levels": 2} if name == "unet" else {"features": 4, "depth": 3}
        convs = lambda model: [l for l in model.layers if "Conv" in type(l).__name__]  # noqa: E731
        # The output convolution stays bias-free: the residual is zero where nothing is corrupted.
        hidden = lambda model: convs(model)[:-1]  # noqa: E731
        assert not any(l.use_bias for l in convs(arch.build(1, **params)))
        assert all(l.use_bias for l in hidden(arch.build(1, bias=True, **params)))


@pytest.mark.slow
def test_init_fine_tunes_an_existing_model(tmp_path, photo_dirs, monkeypatch):
    train_dir, val_dir = photo_dirs
    common = ["--noise", "gaussian", "-p", "sigma=25", "--data", str(train_dir), "--val-data", str(val_dir),
              "--steps-per-epoch", "25", "--batch", "8", "--patch", "48"]
    base = run_train([*common, *TINY_UNET, "--epochs", "3", "--lr", "5e-3", "--out", str(tmp_path / "base.keras")])
    assert base["validation"]["psnr"] > base["validation"]["input_psnr"] + 0.5
    # A nearly frozen fine-tune starts where the base model ended, not from scratch.
    tuned = run_train([*common, "--init", str(tmp_path / "base.keras"), "--epochs", "1", "--lr", "1e-7",
                       "--out", str(tmp_path / "tuned.keras")])
    assert tuned["validation"]["psnr"] == pytest.approx(base["validation"]["psnr"], abs=0.1)
    # What fine-tuning had to beat is recorded: the --init model on the same validation crops.
    assert tuned["validation"]["init_psnr"] == pytest.approx(base["validation"]["psnr"], abs=1e-3)
    assert "init_psnr" not in base["validation"]
    # ... and kept when the fine-tuning is resumed (it was dropped).
    resumed = run_train([*common, "--init", str(tmp_path / "base.keras"), "--epochs", "2", "--lr", "1e-7",
                         "--out", str(tmp_path / "tuned.keras"), "--resume"])
    assert resumed["validation"]["init_psnr"] == tuned["validation"]["init_psnr"]
    assert tuned["arch"] == "unet" and tuned["arch_params"] == base["arch_params"]
    assert tuned["init"] == str(tmp_path / "base.keras") and tuned["channels"] == 1
    # Its training time counts the base model's run too.
    assert base["total_wall_seconds"] == base["wall_seconds"]
    assert tuned["total_wall_seconds"] == pytest.approx(base["wall_seconds"] + tuned["wall_seconds"], abs=0.11)
    # A fresh Adam's first steps move every weight by about the full rate, whatever its gradient:
    # fine-tuning ramps the rate up, so a few steps at a high rate leave the model near the base
    # (with and without a time budget), where an unramped start wrecks it.
    fast = [*common, "--init", str(tmp_path / "base.keras"), "--epochs", "1", "--steps-per-epoch", "3",
            "--lr", "5e-2"]
    for i, budget in enumerate(([], ["--time-limit", "600"])):
        ramped = run_train([*fast, *budget, "--out", str(tmp_path / f"ramped{i}.keras")])
        assert ramped["validation"]["psnr"] == pytest.approx(base["validation"]["psnr"], abs=0.3)
    monkeypatch.setattr(trainer, "FINETUNE_WARMUP_STEPS", 1)
    jolted = CliRunner().invoke(main, ["train", *fast, "--time-limit", "600", "--out", str(tmp_path / "jolted.keras")])
    assert jolted.exit_code == 0, jolted.output
    assert load_denoiser(str(tmp_path / "jolted.keras")).metadata["validation"]["psnr"] < base["validation"]["psnr"] - 1
    assert "no epoch beat the --init model" in jolted.output  # the user is told the start was better
    # A gray model grows into a colour one of the same architecture (tests/test_warm_start.py).
    grown = run_train([*common, "--init", str(tmp_path / "base.keras"), "--channels", "rgb", "--epochs", "1",
                       "--steps-per-epoch", "2", "--out", str(tmp_path / "grown.keras")])
    assert grown["channels"] == 3 and grown["arch_params"] == base["arch_params"]
    # -a may add inputs (the impulse prefill and its mask, tests/test_prefill.py): the rest is the base's.
    prefilled = run_train([*common, "--init", str(tmp_path / "base.keras"), "-a", "prefill=impulse", "--epochs", "1",
                           "--steps-per-epoch", "2", "--out", str(tmp_path / "prefilled.keras")])
    assert prefilled["arch_params"] == {**base["arch_params"], "prefill": "impulse"}
    # The architecture is the model's own: --arch/-a or a colour model shrunk to gray are usage errors.
    for extra in (["-a", "features=16"], ["--arch", "dncnn"]):
        result = CliRunner().invoke(main, ["train", *common, "--init", str(tmp_path / "base.keras"), *extra,
                                           "--out", str(tmp_path / "x.keras")])
        assert result.exit_code == 2 and "--init" in result.output
        assert "cannot change (with --init, -a may change only prefill, bottom)" in result.output or "--arch" in extra
    shrunk = CliRunner().invoke(main, ["train", *common, "--init", str(tmp_path / "grown.keras"), "--channels", "gray",
                                       "--out", str(tmp_path / "x.keras")])
    assert shrunk.exit_code == 2 and "is a rgb model" in shrunk.output
    missing = CliRunner().invoke(main, ["train", *common, "--init", "nope.keras", "--out", str(tmp_path / "x.keras")])
    assert missing.exit_code == 2 and "no model file 'nope.keras'" in missing.output
    junk = tmp_path / "junk.keras"
    junk.write_text("not a model")
    bad = CliRunner().invoke(main, ["train", *common, "--init", str(junk), "--out", str(tmp_path / "x.keras")])
    assert bad.exit_code == 2 and "not a model made by `denoisekit train`" in bad.output


@pytest.mark.slow
def test_metadata_read_without_building_the_model_is_what_loading_reads():
    assert set(bundled_models()) >= {"gaussian-gray", "gaussian-color", "salt-and-pepper-gray", "colorize-color"}
    for name in bundled_models():
        assert peek_metadata(name) == load_denoiser(name).metadata


@pytest.mark.slow
def test_same_seed_same_model(tmp_path, photo_dirs):
    train_dir, val_dir = photo_dirs
    weights = []
    for name in ("a", "b"):
        config = TrainConfig(noise="salt-and-pepper", noise_params={"amount": 0.2, "salt_vs_pepper": 0.5},
                             out=str(tmp_path / f"{name}.keras"), arch_params={"features": 4, "levels": 2, "head": "residual"},
                             data=str(train_dir), val_data=str(val_dir), epochs=1, steps_per_epoch=3, batch=4,
                             patch=32, seed=11)
        train(config, verbose=0)
        weights.append(load_denoiser(config.out).model.get_weights())
    for first, second in zip(*weights):
        np.testing.assert_array_equal(first, second)


@pytest.mark.slow
def test_mirrored_strategy_trains_on_cpu(tmp_path, photo_dirs):
    train_dir, val_dir = photo_dirs
    out = tmp_path / "mirrored.keras"
    summary = run_train(["--noise", "gaussian", "--data", str(train_dir), "--val-data", str(val_dir), *TINY_UNET,
                         "--epochs", "1", "--steps-per-epoch", "2", "--batch", "4", "--patch", "32",
                         "--strategy", "mirrored", "--out", str(out)])
    assert Path(summary["model"]).exists()


@pytest.mark.slow
def test_colorization_keeps_luminance_and_adds_color(tmp_path, photo_dirs):
    photos, _ = photo_dirs
    train_dir = tmp_path / "train"
    train_dir.mkdir()
    for path in photos.glob("*.png"):
        (train_dir / path.name).write_bytes(path.read_bytes())
    cv2.imwrite(str(train_dir / "gray.png"), data.camera()[:160, :160])  # no colour to learn from
    out = tmp_path / "color.keras"
    summary = run_train(["--noise", "grayscale", "--data", str(train_dir), "--val-data", str(photos), *TINY_UNET,
                         "--epochs", "1", "--steps-per-epoch", "15", "--batch", "4", "--patch", "32", "--lr", "3e-3",
                         "--out", str(out)])
    assert summary["data"].endswith("(less 1 gray)")
    denoiser = load_denoiser(out)
    assert denoiser.metadata["arch_params"]["head"] == "chroma" and denoiser.task == "colorize"
    photo = data.astronaut()[:64, :64].astype(np.float32) / 255.0
    gray = np.repeat(photo @ np.array([0.299, 0.587, 0.114], np.float32), 3).reshape(64, 64, 3)
    colored = denoiser(gray[None])[0]
    luma = colored @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.abs(luma - gray[..., 0]).mean() < 0.01  # the gray input's luminance is kept
    assert np.abs(colored[..., 0] - colored[..., 2]).mean() > 0.005  # and color appears
    # Its colour calibration, fitted on the validation photos, travels in the file for clean.
    chroma_map = np.asarray(denoiser.metadata["chroma_map"])
    assert chroma_map.shape == (3, 2) and np.isfinite(chroma_map).all() and np.abs(chroma_map).sum() > 0


def test_bad_train_options_are_one_line_errors(tmp_path):
    runner = CliRunner()
    gray_only = tmp_path / "gray"
    gray_only.mkdir()
    cv2.imwrite(str(gray_only / "camera.png"), data.camera()[:64, :64])
    cases = [
        (["--noise", "grayscale", "--data", str(gray_only), "--val-data", str(gray_only), "--out",
          str(tmp_path / "c.keras")], "colorization needs color training images"),
        (["--noise", "nope"], "no corruption named 'nope'"),
        (["--noise", "grayscale", "--channels", "gray"], "needs --channels rgb"),
        (["--noise", "gaussian", "-a", "levels=99"], "levels"),
        (["--noise", "gaussian", "--out", str(tmp_path / "m.h5")], ".keras"),
        (["--noise", "gaussian", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "m.keras")], "no such folder"),
    ]
    for args, message in cases:
        result = runner.invoke(main, ["train", *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)


@pytest.mark.slow
def test_digits_autoencoder_trains_on_mnist(tmp_path):
    out = tmp_path / "digits.keras"
    summary = run_train(["--noise", "gaussian", "-p", "sigma=127.5", "--data", "mnist", "--arch", "autoencoder",
                         "--loss", "l2", "--epochs", "2", "--steps-per-epoch", "30", "--batch", "64", "--lr", "3e-3", "--out", str(out)])
    assert summary["patch"] == 28 and summary["validation"]["images"] == 500
    assert summary["validation"]["psnr"] > summary["validation"]["input_psnr"] + 2
    model = load_denoiser(out)
    assert model.fixed_size == (28, 28) and model.model.get_layer("latent").units == 16


@pytest.mark.slow
def test_third_party_corruption_from_an_installed_distribution_trains(tmp_path, photo_dirs, monkeypatch):
    from plugin_fixtures import install_plugin

    from denoisekit.plugins import reset_registry

    site = install_plugin(tmp_path, "dk-speckle-train", SPECKLE_PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    reset_registry()
    train_dir, val_dir = photo_dirs
    out = tmp_path / "third.keras"
    summary = run_train(["--noise", "speckle-test", "-p", "strength=0.4", "--data", str(train_dir),
                         "--val-data", str(val_dir), *TINY_UNET, "--epochs", "2", "--steps-per-epoch", "15",
                         "--batch", "4", "--patch", "32", "--lr", "3e-3", "--out", str(out)])
    assert summary["corruption"] == "speckle-test" and summary["corruption_params"]["strength"] == "0.4"
    rows = log_rows(out)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])  # it learns to undo the plugin's corruption
    assert summary["validation"]["psnr"] > summary["validation"]["input_psnr"]
    assert load_denoiser(out).metadata["corruption"] == "speckle-test"


@pytest.mark.slow
def test_multi_worker_strategy_runs_as_a_single_worker_without_tf_config(tmp_path, photo_dirs):
    import os
    import subprocess
    import sys

    train_dir, val_dir = photo_dirs
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    out = tmp_path / "mw.keras"
    # A fresh process: a multi-worker strategy must be created before any other TensorFlow work.
    done = subprocess.run([sys.executable, "-m", "denoisekit", "train", "--noise", "gaussian", "--strategy", "multi-worker",
                           "--data", str(train_dir), "--val-data", str(val_dir), *TINY_UNET, "--epochs", "1",
                           "--steps-per-epoch", "2", "--batch", "4", "--patch", "32", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert load_denoiser(out).metadata["steps_per_epoch"] == 2


def test_ssim_loss_is_one_minus_the_ssim_that_metrics_reports():
    from denoisekit.metrics import ssim
    from denoisekit.training import LOSS_NAMES
    from denoisekit.training.losses import LOSSES, l1_ssim_loss, ssim_loss

    assert tuple(LOSSES) == LOSS_NAMES  # every name the CLI offers has a loss
    rng = np.random.default_rng(3)
    clean = np.stack([data.astronaut()[100:164, 200:264], data.coffee()[50:114, 300:364]]).astype(np.float32) / 255
    noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    losses = np.asarray(ssim_loss(clean, noisy))
    expected = [1 - ssim(c, n) for c, n in zip(clean, noisy)]
    assert losses == pytest.approx(expected, abs=1e-4)
    assert np.asarray(ssim_loss(clean, clean)) == pytest.approx([0, 0], abs=1e-5)
    l1 = np.abs(clean - noisy).mean(axis=(1, 2, 3))
    assert np.asarray(l1_ssim_loss(clean, noisy)) == pytest.approx(0.84 * np.array(expected) + 0.16 * l1, abs=1e-4)


def test_psnr_loss_is_minus_the_psnr_that_metrics_reports():
    from denoisekit.metrics import psnr
    from denoisekit.training.losses import psnr_loss

    rng = np.random.default_rng(5)
    clean = np.stack([data.astronaut()[100:164, 200:264], data.coffee()[50:114, 300:364]]).astype(np.float32) / 255
    noisy = np.stack([np.clip(c + rng.normal(0, s, c.shape), 0, 1) for c, s in zip(clean, (0.02, 0.2))])
    noisy = noisy.astype(np.float32)
    losses = np.asarray(psnr_loss(clean, noisy))
    assert losses == pytest.approx([-psnr(c, n) for c, n in zip(clean, noisy)], abs=1e-3)
    # each image by its own error: the light noise's loss is as far from the heavy one's as their
    # PSNRs, where under L2 the light image would weigh about 100x less
    assert losses[1] - losses[0] == pytest.approx(20 * np.log10(0.2 / 0.02), abs=1.0)
    assert np.isfinite(np.asarray(psnr_loss(clean, clean))).all()  # an exact restoration: capped, not -inf


@pytest.mark.slow
def test_ssim_loss_and_ssim_selection_train_and_resume(tmp_path, photo_dirs):
    train_dir, val_dir = photo_dirs
    out = tmp_path / "s.keras"
    common = ["--noise", "gaussian", "--data", str(train_dir), "--val-data", str(val_dir), *TINY_UNET,
              "--loss", "l1+ssim", "--select", "ssim", "--steps-per-epoch", "3", "--batch", "4", "--patch", "32",
              "--out", str(out)]
    run_train([*common, "--epochs", "2"])
    state = json.loads((tmp_path / "s.ckpt" / "state.json").read_text())
    ssims = [float(r["val_ssim"]) for r in log_rows(out)]
    assert state["best_val"] == pytest.approx(max(ssims)) and state["best_epoch"] == 1 + int(np.argmax(ssims))
    summary = run_train([*common, "--epochs", "3", "--resume"])  # the compiled loss is read back from the checkpoint
    assert summary["epochs"] == 3 and summary["loss"] == "l1+ssim" and summary["select"] == "ssim"
    kept = max(float(r["val_ssim"]) for r in log_rows(out))
    assert summary["validation"]["ssim"] == pytest.approx(kept, abs=1e-6)  # the kept model is the best-SSIM epoch
