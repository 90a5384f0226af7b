"""Training from noisy/clean pairs: matching by name, mismatches named, one crop for both."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from denoisekit.cli import main
from denoisekit.plugins import corruption
from denoisekit.training.datasets import DataError
from denoisekit.training.pairs import load_pairs, pair_dataset, split_pairs


def write(folder: Path, name: str, pixels: np.ndarray) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / name), pixels)


@pytest.fixture
def pair_dirs(tmp_path) -> tuple[Path, Path]:
    """clean/ and noisy/ with three pairs, one in a subfolder and one under another suffix."""
    rng = np.random.default_rng(0)
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    for name, noisy_name in (("a.png", "a.png"), ("b.png", "b.tif"), ("sub/c.png", "sub/c.png")):
        image = rng.integers(0, 256, (40, 48), np.uint8)
        write(clean, name, image)
        write(noisy, noisy_name, np.clip(image.astype(int) + 9, 0, 255).astype(np.uint8))
    return clean, noisy


def test_pairs_are_matched_by_relative_folder_and_stem(pair_dirs):
    clean, noisy = pair_dirs
    pairs = load_pairs(clean, noisy, channels=1)
    assert pairs.names == ["a.png", "b.tif", "sub/c.png"]
    for n, c in zip(pairs.noisy, pairs.clean):
        assert n.shape == c.shape == (40, 48, 1)
        assert np.all(np.isclose(n - c, 9 / 255, atol=1e-6) | (n == 1.0))  # each noisy image with its own clean one
    train, val = split_pairs(pairs)
    assert train.names == ["a.png", "b.tif"] and val.names == ["sub/c.png"]


def test_mismatched_pairs_are_named_in_one_line(pair_dirs):
    clean, noisy = pair_dirs
    (noisy / "a.png").unlink()
    write(noisy, "extra.png", np.zeros((40, 48), np.uint8))
    with pytest.raises(DataError) as err:
        load_pairs(clean, noisy, channels=1)
    message = str(err.value)
    assert "\n" not in message
    assert f"no clean image in {clean} for extra.png" in message and f"no noisy image in {noisy} for a.png" in message

    (noisy / "extra.png").unlink()
    write(noisy, "a.png", np.zeros((30, 48), np.uint8))
    with pytest.raises(DataError, match=r"differ in size .*: a\.png 48x30 against a\.png 48x40$"):
        load_pairs(clean, noisy, channels=1)


def test_train_reports_pair_mismatches_before_anything_is_written(pair_dirs, tmp_path):
    clean, noisy = pair_dirs
    write(noisy, "sub/c.png", np.zeros((41, 48), np.uint8))
    out = tmp_path / "m.keras"
    result = CliRunner().invoke(main, ["train", "--data", str(clean), "--pairs", str(noisy), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: pairs differ in size (noisy against clean, width x height): sub/c.png 48x41 against sub/c.png 48x40"]
    assert not out.exists() and not (tmp_path / "m.ckpt").exists()


@pytest.mark.parametrize("args, message", [
    (["--pairs", "{noisy}"], "--pairs needs --data CLEAN_DIR"),
    (["--data", "{clean}", "--pairs", "{noisy}", "--self-supervised"], "exclude each other"),
    (["--data", "{clean}", "--pairs", "{noisy}", "--val-data", "{clean}"], "needs --val-pairs"),
    (["--data", "{clean}", "--noise", "gaussian", "--val-data", "{clean}", "--val-pairs", "{noisy}"],
     "--val-pairs goes with --pairs or --self-supervised"),
    (["--data", "{noisy}", "--self-supervised", "--noise", "gaussian"], "leave out --noise"),
    (["--data", "{noisy}", "--self-supervised", "--val-pairs", "{noisy}"], "--val-pairs needs --val-data"),
    (["--data", "{noisy}", "--self-supervised", "--loss", "l1"], "bring their own loss"),
    (["--data", "{noisy}", "--self-supervised", "--select", "ssim"], "needs clean validation images"),
    (["--data", "{noisy}", "--method", "noise2void"], "goes with --self-supervised"),
    (["--data", "{noisy}", "--self-supervised", "--patch", "36"], "needs a multiple of 16"),
    (["--data", "{noisy}", "--self-supervised", "--arch", "autoencoder"], "use --method noise2void"),
    (["--data", "{clean}"], "--noise: is required (or --pairs NOISY_DIR, or --self-supervised)"),
    (["--data", "{clean}", "--pairs", "{noisy}", "-p", "sigma=3"], "noise parameters need --noise"),
])
def test_data_options_that_do_not_go_together_are_one_line_errors(pair_dirs, tmp_path, args, message):
    clean, noisy = pair_dirs
    out = tmp_path / "m.keras"
    args = [a.format(clean=clean, noisy=noisy) for a in args]
    result = CliRunner().invoke(main, ["train", *args, "--out", str(out)])
    assert result.exit_code != 0 and message in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "m.ckpt").exists()


@pytest.mark.slow
def test_pairs_stay_aligned_through_crops_flips_and_rotations():
    rows, cols = np.mgrid[0:50, 0:60]
    ramp = ((rows * 60 + cols) / 6000.0).astype(np.float32)[..., None]  # every pixel differs
    pairs = load_pairs_from_arrays(noisy=[ramp + 0.25], clean=[ramp])
    batches = [(np.asarray(n), np.asarray(c)) for n, c in pair_dataset(pairs, None, {}, patch=16, batch=8,
                                                                         seed=3).take(4)]
    orientations = set()
    for noisy, target in batches:
        clean, mask = target[..., :1], target[..., 1:]  # the target carries the real pixels' mask
        np.testing.assert_array_equal(mask, 1.0)  # 50x60 pairs: 16-pixel patches need no padding
        np.testing.assert_allclose(noisy - clean, 0.25, atol=1e-6)  # the same pixels in both, every patch
        for patch in clean[..., 0]:
            dy, dx = np.sign(patch[1, 0] - patch[0, 0]), np.sign(patch[0, 1] - patch[0, 0])
            orientations.add((dy, dx))
    assert len(orientations) >= 3  # the crops were really flipped and rotated

    gaussian = corruption("gaussian").obj
    noisy, clean = next(iter(pair_dataset(pairs, gaussian, {"sigma": 25.0}, patch=16, batch=8, seed=3)))
    residual = np.asarray(noisy) - np.asarray(clean)[..., :1] - 0.25
    assert 0.06 < residual.std() < 0.14 and abs(residual.mean()) < 0.02  # noise added on top of the pair
    assert np.allclose(np.asarray(noisy) * 255, np.round(np.asarray(noisy) * 255), atol=1e-3)  # as 8-bit files


def load_pairs_from_arrays(noisy: list[np.ndarray], clean: list[np.ndarray]):
    from denoisekit.training.pairs import PairSet

    return PairSet(noisy, clean, [str(i) for i in range(len(clean))], "test pairs")


def test_the_api_takes_the_same_sources_and_refuses_the_same_combinations(pair_dirs, tmp_path):
    import denoisekit

    clean, noisy = pair_dirs
    out = tmp_path / "m.keras"
    with pytest.raises(ValueError, match="exclude each other"):
        denoisekit.train(None, out, data=clean, pairs=noisy, self_supervised="neighbor2neighbor")
    with pytest.raises(ValueError, match="leave out --noise"):
        denoisekit.train("gaussian", out, data=noisy, self_supervised="noise2void")
    with pytest.raises(ValueError, match="method must be one of neighbor2neighbor, noise2void"):
        denoisekit.train(None, out, data=noisy, self_supervised="noise2nothing")
    assert not out.exists()
