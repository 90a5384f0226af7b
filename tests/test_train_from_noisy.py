"""denoisekit train from the data users have: noisy/clean pairs, and noisy images alone.

The runs are tiny (a U-Net of 8 features, a few hundred steps of 8 patches); each checks
what a user relies on: the model beats its noisy input, `clean` uses it with no extra flags,
the metadata says where the noise came from, and resume and strategies work as before.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

from cluster_fixtures import run_in_process, run_workers
from denoisekit.cli import main
from denoisekit.modelio import load_denoiser

TINY_UNET = ["--arch", "unet", "-a", "features=8", "-a", "levels=2"]
SIGMA = 25


def noisy_copy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise at SIGMA, stored as 8 bits as users' files are."""
    return np.clip(np.round(image + rng.normal(0, SIGMA, image.shape)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """Gray astronaut crops, clean and noisy, and a held-out camera crop, clean and noisy."""
    root = tmp_path_factory.mktemp("noisy-data")
    paths = {name: root / name for name in ("clean", "noisy", "val_clean", "val_noisy")}
    for path in paths.values():
        path.mkdir()
    rng = np.random.default_rng(0)
    astronaut = data.astronaut()[..., 1]
    for i, (r, c) in enumerate([(0, 0), (200, 250), (300, 50), (100, 300)]):
        crop = astronaut[r:r + 160, c:c + 160]
        cv2.imwrite(str(paths["clean"] / f"a{i}.png"), crop)
        cv2.imwrite(str(paths["noisy"] / f"a{i}.png"), noisy_copy(crop, rng))
    camera = data.camera()[100:228, 150:278]
    cv2.imwrite(str(paths["val_clean"] / "camera.png"), camera)
    cv2.imwrite(str(paths["val_noisy"] / "camera.png"), noisy_copy(camera, rng))
    return paths


def run_train(args: list[str]) -> dict:
    result = CliRunner().invoke(main, ["train", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])  # after Keras' progress lines


def clean_report(folders: dict[str, Path], model: Path, out: Path) -> dict:
    """`denoisekit clean` on the held-out noisy crop with the trained model, scored against its clean one."""
    result = CliRunner().invoke(main, ["clean", str(folders["val_noisy"]), str(out), "--model", str(model),
                                       "--reference", str(folders["val_clean"]), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["files"][0]


def log_rows(model: Path) -> list[dict]:
    with open(model.with_name(model.stem + ".ckpt") / "log.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["neighbor2neighbor", "noise2void"])
def test_model_trained_on_noisy_images_alone_beats_its_noisy_input(tmp_path, folders, method):
    out = tmp_path / f"{method}.keras"
    summary = run_train(["--data", str(folders["noisy"]), "--self-supervised", "--method", method,
                         "--val-data", str(folders["val_clean"]), "--val-pairs", str(folders["val_noisy"]),
                         *TINY_UNET, "--epochs", "4", "--steps-per-epoch", "50", "--batch", "8", "--patch", "48",
                         "--lr", "5e-3", "--out", str(out)])
    val = summary["validation"]
    assert val["psnr"] > val["input_psnr"] + 0.5  # the held-out camera crop, scored against its clean original
    assert summary["noise_source"] == "self-supervised" and summary["self_supervised"]["method"] == method
    assert summary["corruption"] is None and str(folders["noisy"]) in summary["data"]
    # `clean` runs it like any other model: a plain Keras denoiser with its metadata.
    report = clean_report(folders, out, tmp_path / "restored")
    assert report["output"]["psnr"] > report["input"]["psnr"] + 0.5
    assert [layer.name for layer in load_denoiser(out).model.layers][0] == "noisy"


@pytest.mark.slow
def test_without_clean_images_the_held_out_loss_picks_the_epoch_and_runs_resume(tmp_path, folders):
    out = tmp_path / "n2n.keras"
    common = ["--data", str(folders["noisy"]), "--self-supervised", *TINY_UNET, "--steps-per-epoch", "3",
              "--batch", "4", "--patch", "32", "--out", str(out), "--strategy", "mirrored"]
    run_train([*common, "--epochs", "1"])
    summary = run_train([*common, "--epochs", "2", "--resume"])
    rows = log_rows(out)
    assert [r["epoch"] for r in rows] == ["0", "1"]  # one log, continued
    # Per epoch: the self-supervised loss on the held-out noisy image and the noise estimates.
    assert all(float(r["val_loss"]) > 0 and 0 < float(r["val_noise"]) < 40 and "val_removed" in r for r in rows)
    val = summary["validation"]
    assert summary["select"] == "loss" and val["loss"] == pytest.approx(min(float(r["val_loss"]) for r in rows))
    assert 20 < val["input_noise"] < 30  # the wavelet estimate of the held-out image's sigma 25
    assert "a3.png" in summary["validation_data"] and "less 1 held out" in summary["data"]
    listing = CliRunner().invoke(main, ["models", str(out)])
    assert listing.exit_code == 0 and "noisy images (neighbor2neighbor)" in listing.stdout


@pytest.mark.slow
def test_model_trained_on_pairs_beats_its_noisy_input_and_records_the_pairs(tmp_path, folders):
    out = tmp_path / "pairs.keras"
    summary = run_train(["--data", str(folders["clean"]), "--pairs", str(folders["noisy"]),
                         "--val-data", str(folders["val_clean"]), "--val-pairs", str(folders["val_noisy"]),
                         *TINY_UNET, "--epochs", "4", "--steps-per-epoch", "25", "--batch", "8", "--patch", "48",
                         "--lr", "5e-3", "--out", str(out)])
    val = summary["validation"]
    assert val["psnr"] > val["input_psnr"] + 1.0
    assert summary["noise_source"] == "pairs" and summary["pairs"] == str(folders["noisy"])
    assert summary["corruption"] is None and "4 pairs" in summary["data"]
    report = clean_report(folders, out, tmp_path / "restored")
    assert report["output"]["psnr"] > report["input"]["psnr"] + 1.0

    # Noise added on top of the pairs: recorded as both.
    on_top = tmp_path / "on-top.keras"
    summary = run_train(["--data", str(folders["clean"]), "--pairs", str(folders["noisy"]), "--noise", "gaussian",
                         "-p", "sigma=5", *TINY_UNET, "--epochs", "1", "--steps-per-epoch", "2", "--batch", "4",
                         "--patch", "32", "--out", str(on_top)])
    assert summary["noise_source"] == "pairs" and summary["corruption"] == "gaussian"
    assert summary["validation_data"] == "held-out pairs: a3.png"
    listing = CliRunner().invoke(main, ["models", str(on_top)])
    assert f"pairs {folders['noisy']} + gaussian" in listing.stdout


def test_models_of_real_noise_keep_no_pixel_as_untouched():
    """A salt-and-pepper model keeps every pixel that is not pure black or white; trained on pairs
    (real noise, with impulses on top), any pixel may have changed, so none is kept."""
    from denoisekit.inference import ModelRestore

    rng = np.random.default_rng(1)
    noisy = rng.random((16, 16, 1)).astype(np.float32)
    noisy[::3, ::3] = 1.0
    restore = ModelRestore("salt-and-pepper", fill=0.0)
    for source, kept in (("synthetic", True), ("pairs", False), ("self-supervised", False)):
        denoiser = SimpleNamespace(metadata={"corruption": "salt-and-pepper", "noise_source": source})
        out = restore._keep_untouched(denoiser, noisy, np.zeros_like(noisy))
        assert np.array_equal(out == noisy, noisy < 1.0) if kept else not out.any()


@pytest.mark.slow
def test_self_supervised_training_on_two_workers_matches_one_process(tmp_path, folders):
    """The wrapper's loss under --strategy multi-worker: the same global batch on one process, then
    split over two worker processes (loopback), gives the same first-epoch loss."""
    import sys

    def command(out: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "denoisekit", "train", "--data", str(folders["noisy"]), "--self-supervised",
                *TINY_UNET, "--epochs", "2", "--steps-per-epoch", "4", "--batch", "4", "--patch", "32",
                "--seed", "3", "--time-limit", "600", "--out", str(out), *extra]

    single = tmp_path / "single" / "m.keras"
    run_in_process(command(single))
    shared = tmp_path / "cluster" / "m.keras"
    run_workers(command(shared, "--strategy", "multi-worker"))
    one, two = log_rows(single), log_rows(shared)
    assert len(one) == len(two) == 2
    assert float(two[0]["loss"]) == pytest.approx(float(one[0]["loss"]), rel=1e-4)
    assert float(two[-1]["val_loss"]) == pytest.approx(float(one[-1]["val_loss"]), rel=1e-3)
    assert load_denoiser(shared).metadata["noise_source"] == "self-supervised"


@pytest.mark.slow
def test_images_narrower_than_the_models_grid_validate_from_pairs_and_from_noisy_images(tmp_path):
    """Validation crops were rounded down to the model's size multiple: a side under it became
    nothing, and pair training failed before starting (ZeroDivisionError), self-supervised after
    an epoch (a Conv2D of size 0, or None figures)."""
    rng = np.random.default_rng(5)
    for name, (h, w) in {"clean": (6, 7), "noisy": (6, 7), "banners": (40, 3)}.items():
        (tmp_path / name).mkdir()
        for i in range(3):
            cv2.imwrite(str(tmp_path / name / f"i{i}.png"), (rng.random((h, w)) * 255).astype(np.uint8))
    tiny = [*TINY_UNET, "--patch", "16", "--epochs", "1", "--steps-per-epoch", "2", "--batch", "2"]
    pairs = run_train(["--data", str(tmp_path / "clean"), "--pairs", str(tmp_path / "noisy"), *tiny,
                       "--out", str(tmp_path / "p.keras")])
    assert pairs["validation"]["psnr"] is not None
    alone = run_train(["--data", str(tmp_path / "banners"), "--self-supervised", *tiny,
                       "--out", str(tmp_path / "s.keras")])
    assert alone["validation"]["loss"] is not None and alone["validation"]["noise"] > 0
