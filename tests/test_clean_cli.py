"""``denoisekit clean`` end to end: outputs, reports, resuming, errors, options."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from clean_fixtures import (  # noqa: F401  (fixtures)
    add_noise, clean_models, noisy_set, register_inline_plugin, smooth_images, write_unit,
)

import denoisekit
from denoisekit.chroma import DEFAULT_CHROMA_CAP
from denoisekit import modelio
from denoisekit.cli import main
from denoisekit.images import read_image
from denoisekit.metrics import psnr as reference_psnr
from denoisekit.plugins import get_registry

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def clean(runner, *args):
    return runner.invoke(main, ["clean", *map(str, args)])


@pytest.mark.slow
def test_readme_command_on_the_samples(runner, tmp_path):
    """The README's first command, `denoisekit clean samples/noisy OUT --reference samples/clean
    --report r.json`, with the bundled models: per-image and mean PSNR/SSIM of input and output."""
    report = tmp_path / "r.json"
    result = clean(runner, SAMPLES / "noisy", tmp_path / "out", "--reference", SAMPLES / "clean",
                   "--report", report)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    names = sorted(p.name for p in (SAMPLES / "noisy").glob("*.png"))
    assert [f["file"] for f in data["files"]] == names
    for row in data["files"]:
        assert row["status"] == "written" and row["reference"] == row["file"]
        for side in ("input", "output"):
            assert set(row[side]) == {"psnr", "ssim", "sigma"}
        assert row["output"]["psnr"] > row["input"]["psnr"] + 5  # sigma 25 noise, really removed
        assert row["seconds_per_megapixel"] > 0
    for side in ("input", "output"):
        for key in ("psnr", "ssim"):
            assert data["mean"][side][key] == pytest.approx(np.mean([r[side][key] for r in data["files"]]))
    # Colour images: the gray model per opponent-colour channel, the chroma model on the chroma planes.
    assert data["restorer"] == "model" and data["models"] == ["gaussian-chroma", "gaussian-gray"]
    assert {f["file"]: f["model"] for f in data["files"]}["chelsea.png"] == "gaussian-gray + gaussian-chroma"
    assert data["params"] == {"model": "gaussian", "tile": 512, "overlap": 64, "batch": 4,
                              "keep_untouched": True, "fill": 0.0, "ensemble": False, "chroma_radius": 16,
                              "chroma_gain": 1.0, "color": "rgb", "chroma_scale": 0, "declip": True,
                              "rgb_share": 0.0, "chroma_cap": DEFAULT_CHROMA_CAP, "chroma_map": True}
    assert "mean" in result.stdout and "PSNR in" in result.stdout
    assert result.stderr.count("note:") == 0  # gray and color images each get their own model


def test_outputs_mirror_the_input_and_the_figures_are_right(runner, noisy_set, tmp_path, clean_models):
    out = tmp_path / "out"
    result = clean(runner, noisy_set.noisy, out, "--reference", noisy_set.clean, "--model", clean_models.gray,
                   "--json", "--tile", "32", "--overlap", "16")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # stdout is only the JSON
    assert "PSNR in" in result.stderr  # the table went to stderr
    assert [f["file"] for f in data["files"]] == noisy_set.files
    assert data["params"]["tile"] == 32 and data["params"]["overlap"] == 16
    for row in data["files"]:
        written = read_image(out / row["file"])
        noisy = read_image(noisy_set.noisy / row["file"])
        ref = read_image(noisy_set.clean / row["file"])
        assert written.pixels.shape == noisy.pixels.shape and written.dtype == np.uint8
        # The report scores the restored pixels before 8-bit rounding: within a few hundredths of a dB.
        assert row["output"]["psnr"] == pytest.approx(reference_psnr(ref.pixels, written.pixels), abs=0.05)
        assert row["input"]["psnr"] == pytest.approx(reference_psnr(ref.pixels, noisy.pixels), abs=1e-4)
        assert row["output"]["psnr"] > row["input"]["psnr"] + 1
        assert row["output"]["sigma"] < row["input"]["sigma"]


@pytest.mark.slow
def test_tile_options_reach_the_model(runner, noisy_set, tmp_path, clean_models):
    base = ["--model", clean_models.gray]
    assert clean(runner, noisy_set.noisy, tmp_path / "big", *base).exit_code == 0
    result = clean(runner, noisy_set.noisy, tmp_path / "small", *base,
                   "--tile", "16", "--overlap", "8", "--batch", "3")
    assert result.exit_code == 0, result.output
    for rel in noisy_set.files:  # the receptive field exceeds 4 px of context: tiles change the result a little
        big = read_image(tmp_path / "big" / rel).pixels
        small = read_image(tmp_path / "small" / rel).pixels
        assert 0 < np.abs(big - small).max() < 0.5
    result = clean(runner, noisy_set.noisy, tmp_path / "bad", *base, "--tile", "32", "--overlap", "32")
    assert result.exit_code == 2 and "overlap (32) must be smaller than the tile (32)" in result.stderr
    assert not (tmp_path / "bad").exists()


def test_tile_options_are_parameters_of_the_restorer(runner, noisy_set, tmp_path, clean_models):
    result = clean(runner, noisy_set.noisy, tmp_path / "o", "--model", clean_models.gray, "--tile", "32", "-p", "tile=64")
    assert result.exit_code == 2 and "given twice" in result.output
    result = clean(runner, noisy_set.noisy, tmp_path / "o", "--restorer", "median", "--tile", "32")
    assert result.exit_code == 2 and "has no 'tile' parameter" in result.output
    result = clean(runner, noisy_set.noisy, tmp_path / "o", "-p", f"model={clean_models.gray}", "-p", "batch=1")
    assert result.exit_code == 0, result.output


def test_csv_report_and_no_reference_reports_noise_levels(runner, noisy_set, tmp_path):
    report = tmp_path / "r.csv"
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--restorer", "nlmeans", "--report", report)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(report.read_text())))
    assert [r["file"] for r in rows] == [*noisy_set.files, "mean"]
    for row in rows:
        assert float(row["output_sigma"]) < float(row["input_sigma"]) and row["input_psnr"] == ""
    assert "sigma in" in result.stdout and "PSNR" not in result.stdout


@pytest.mark.slow
def test_a_second_run_keeps_outputs_and_still_reports_their_figures(runner, noisy_set, tmp_path, clean_models):
    args = [noisy_set.noisy, tmp_path / "out", "--reference", noisy_set.clean, "--model", clean_models.gray, "--json"]
    first = json.loads(clean(runner, *args).stdout)
    stamp = {rel: (tmp_path / "out" / rel).stat().st_mtime_ns for rel in noisy_set.files}
    result = clean(runner, *args)
    assert result.exit_code == 0, result.output
    second = json.loads(result.stdout)
    assert "kept 3 existing output(s)" in result.stderr and "0 written, 3 kept" in result.stderr
    assert stamp == {rel: (tmp_path / "out" / rel).stat().st_mtime_ns for rel in noisy_set.files}
    for before, after in zip(first["files"], second["files"]):
        assert after["status"] == "kept" and after["seconds"] is None
        # Written outputs are scored as their files store them, so the kept ones score the same.
        assert after["output"] == pytest.approx(before["output"], rel=1e-6)
        assert after["input"] == before["input"]
    assert second["mean"]["output"]["psnr"] == pytest.approx(first["mean"]["output"]["psnr"], rel=1e-6)
    result = clean(runner, *args, "--overwrite")
    assert "3 written, 0 kept" in result.stderr


def test_a_resumed_run_reports_each_kept_files_own_noise_level(runner, noisy_set, tmp_path):
    args = [noisy_set.noisy, tmp_path / "out", "--restorer", "median", "-p", "size=3", "--json"]
    first = json.loads(clean(runner, *args).stdout)
    (tmp_path / "out" / noisy_set.files[0]).unlink()  # one file is redone, the others kept
    second = json.loads(clean(runner, *args).stdout)
    assert [f["status"] for f in second["files"]] == ["written", "kept", "kept"]
    sigmas = [f["output"]["sigma"] for f in first["files"]]
    assert len(set(sigmas)) == len(sigmas)  # each image its own figure
    assert [f["output"]["sigma"] for f in second["files"]] == pytest.approx(sigmas, rel=1e-6)


def test_bad_files_are_reported_and_the_rest_processed(runner, noisy_set, tmp_path, clean_models):
    (noisy_set.noisy / "notes.txt").write_text("not an image")
    (noisy_set.noisy / "IMG_0001.HEIC").write_bytes(b"an iPhone photo")
    (noisy_set.noisy / "broken.png").write_bytes(b"\x89PNG garbage")
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--model", clean_models.gray)
    assert result.exit_code == 1
    assert "note: skipped notes.txt (not an image file)" in result.stderr
    assert "note: skipped IMG_0001.HEIC (a HEIC image: convert it to PNG, JPEG or TIFF first)" in result.stderr
    assert "error:" in result.stderr and "broken.png" in result.stderr
    assert "3 written, 0 kept, 1 failed" in result.stderr
    assert all((tmp_path / "out" / rel).is_file() for rel in noisy_set.files)
    assert not (tmp_path / "out" / "broken.png").exists() and not (tmp_path / "out" / "notes.txt").exists()


def test_a_missing_reference_is_an_error_but_the_image_is_cleaned(runner, noisy_set, tmp_path):
    (noisy_set.clean / "b.png").unlink()
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--restorer", "median", "--reference", noisy_set.clean)
    assert result.exit_code == 1
    assert "error: b.png: no reference image with that name" in result.stderr
    assert (tmp_path / "out" / "b.png").is_file()


def test_never_writes_into_the_input(runner, noisy_set, tmp_path):
    before = sorted(p for p in noisy_set.noisy.rglob("*"))
    for args in ([noisy_set.noisy / "cleaned"], [tmp_path / "out", "--report", noisy_set.noisy / "r.json"],
                 [noisy_set.noisy]):
        result = clean(runner, noisy_set.noisy, *args, "--restorer", "median")
        assert result.exit_code == 2 and "inside the input folder" in result.output
    assert sorted(p for p in noisy_set.noisy.rglob("*")) == before


def test_missing_bundled_model_is_a_one_line_error(runner, noisy_set, tmp_path, monkeypatch):
    monkeypatch.setattr(modelio, "BUNDLED_DIR", tmp_path / "no-bundled-models")
    for args in ([], ["--model", "salt-and-pepper"], ["--model", "gaussian-color"]):
        result = clean(runner, noisy_set.noisy, tmp_path / "out", *args)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "pass --model PATH" in lines[0]
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_task_name_uses_bundled_models_per_channel_count(runner, noisy_set, tmp_path, monkeypatch, clean_models):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "gaussian-gray.keras").write_bytes(clean_models.gray.read_bytes())
    (bundled / "gaussian-color.keras").write_bytes(clean_models.color.read_bytes())
    monkeypatch.setattr(modelio, "BUNDLED_DIR", bundled)
    write_unit(noisy_set.noisy / "rgb.png", add_noise(smooth_images(1, 40, 40, 3)[0]))
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {f["file"]: f["model"] for f in data["files"]}["rgb.png"] == "gaussian-gray"
    assert data["models"] == ["gaussian-gray"] and data["notes"] == []
    alone = clean(runner, noisy_set.noisy, tmp_path / "out2", "--model", "gaussian-color", "--json")
    assert alone.exit_code == 0, alone.output  # the colour model, when named
    assert {f["file"]: f["model"] for f in json.loads(alone.stdout)["files"]}["rgb.png"] == "gaussian-color"


def test_models_lists_the_bundled_ones_and_what_each_task_runs_per_kind_of_image(runner, tmp_path, monkeypatch,
                                                                                   clean_models):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    for name, model in (("gaussian-gray", clean_models.gray), ("gaussian-color", clean_models.color),
                        ("salt-and-pepper-gray", clean_models.gray), ("colorize-color", clean_models.colorize)):
        (bundled / f"{name}.keras").write_bytes(model.read_bytes())
    monkeypatch.setattr(modelio, "BUNDLED_DIR", bundled)
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    listed = [line.split()[0] for line in lines[2:6]]
    assert listed == ["colorize-color", "gaussian-color", "gaussian-gray", "salt-and-pepper-gray"]
    routes = {line.split()[0]: line for line in lines[lines.index("What `clean --model TASK` runs (default: gaussian):"):]}
    assert "gaussian-gray per opponent-colour channel" in routes["gaussian"]
    assert "salt-and-pepper-gray per RGB channel" in routes["salt-and-pepper"]
    assert "colorize-color (becomes RGB)" in routes["colorize"]
    described = runner.invoke(main, ["models", str(clean_models.gray)])
    assert described.exit_code == 0 and "clean --model" not in described.stdout  # files: only their own metadata


def test_bit_depth_alpha_format_and_channels_are_kept(runner, tmp_path, clean_models, make_image):
    src = tmp_path / "in"
    rgba16 = make_image(src / "rgba16.png", channels=3, dtype=np.uint16, with_alpha=True, seed=1)
    make_image(src / "gray.jpg", channels=1, seed=2)
    make_image(src / "rgb.tif", channels=3, seed=3)
    result = clean(runner, src, tmp_path / "out", "--model", clean_models.gray, "--tile", "32", "--overlap", "16")
    assert result.exit_code == 0, result.output
    out16 = cv2.imread(str(tmp_path / "out" / "rgba16.png"), cv2.IMREAD_UNCHANGED)
    assert out16.dtype == np.uint16 and out16.shape == (40, 48, 4)
    np.testing.assert_array_equal(out16[..., 3], rgba16.alpha)
    assert len(np.unique(out16[..., :3] % 257)) > 1  # real 16-bit values, not 8-bit ones scaled
    gray = cv2.imread(str(tmp_path / "out" / "gray.jpg"), cv2.IMREAD_UNCHANGED)
    assert gray.shape == (40, 48) and (tmp_path / "out" / "gray.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert cv2.imread(str(tmp_path / "out" / "rgb.tif"), cv2.IMREAD_UNCHANGED).shape == (40, 48, 3)
    assert result.stderr.count("each channel restored on its own") == 1


@pytest.mark.slow
def test_color_model_on_gray_and_colorization(runner, noisy_set, tmp_path, clean_models):
    result = clean(runner, noisy_set.noisy, tmp_path / "c", "--model", clean_models.color)
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "c" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (64, 80)
    assert "note: RGB model color.keras on gray images: restored as RGB" in result.stderr
    result = clean(runner, noisy_set.noisy, tmp_path / "z", "--model", clean_models.colorize, "--json")
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "z" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (64, 80, 3)
    assert json.loads(result.stdout)["files"][0]["channels_out"] == 3
    assert "note: colorization model colorize.keras: gray images become RGB" in result.stderr


def test_fixed_size_model_through_the_cli(runner, noisy_set, tmp_path, clean_models):
    result = clean(runner, noisy_set.noisy / "sub" / "c.png", tmp_path / "c.png", "--model", clean_models.fixed)
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "c.png"), cv2.IMREAD_UNCHANGED).shape == (45, 61)


def test_median_on_salt_and_pepper_with_a_single_reference_file(runner, tmp_path):
    clean_img = smooth_images(1, 48, 48, 1, seed=4)[0]
    noisy = clean_img.copy()
    mask = np.random.default_rng(0).random(noisy.shape) < 0.1
    noisy[mask] = 1.0
    write_unit(tmp_path / "ref.png", clean_img)
    write_unit(tmp_path / "in.png", noisy)
    result = clean(runner, tmp_path / "in.png", tmp_path / "out", "--restorer", "median", "-p", "size=3",
                   "--reference", tmp_path / "ref.png", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["restorer"] == "median" and data["models"] == [] and data["params"] == {"size": 3}
    assert data["files"][0]["output"]["psnr"] > data["files"][0]["input"]["psnr"] + 8
    assert (tmp_path / "out" / "in.png").is_file()
    result = clean(runner, tmp_path / "in.png", tmp_path / "o2", "--restorer", "median", "-p", "size=4")
    assert result.exit_code == 2 and result.stderr.strip() == "error: median size must be odd, not 4"


def test_a_third_party_restorer_through_the_cli(runner, noisy_set, tmp_path):
    register_inline_plugin()
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--restorer", "invert-test", "-p", "amount=1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["restorer"] == "invert-test"
    noisy = cv2.imread(str(noisy_set.noisy / "a.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "a.png"), cv2.IMREAD_UNCHANGED), 255 - noisy)
    result = clean(runner, noisy_set.noisy, tmp_path / "o2", "--restorer", "no-such")
    assert result.exit_code == 2 and "invert-test" in result.output  # the known restorers are listed


class Flaky(denoisekit.Restorer):
    """Fails on 70-pixel-wide images, returns a wrong shape for 61-pixel-wide ones."""

    name = "flaky-test"

    def make(self):
        def restore(pixels):
            if pixels.shape[1] == 70:
                raise RuntimeError("boom")
            return pixels[:10] if pixels.shape[1] == 61 else pixels

        return restore


class Broken(denoisekit.Restorer):
    name = "broken-test"

    def make(self):
        raise RuntimeError("no weights here")


class FlakyPlugin:
    @denoisekit.hookimpl
    def register_restorers(self, register):
        register(Flaky())
        register(Broken())


def test_a_restorer_failing_on_one_image_does_not_stop_the_others(runner, noisy_set, tmp_path):
    get_registry().register(FlakyPlugin(), "dk-flaky-test", "flaky-test")
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--restorer", "flaky-test")
    assert result.exit_code == 1
    assert ("error: b.png: restorer 'flaky-test' (from dk-flaky-test) failed in restoring an image: "
            "RuntimeError: boom") in result.stderr
    assert "error: sub/c.png: restorer 'flaky-test' (from dk-flaky-test) returned shape (10, 61, 1)" in result.stderr
    assert "1 written, 0 kept, 2 failed" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.png")) == ["a.png"]
    result = clean(runner, noisy_set.noisy, tmp_path / "o2", "--restorer", "broken-test")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: restorer 'broken-test' (from dk-flaky-test) failed to start: "
                                     "RuntimeError: no weights here")


def test_a_folder_without_images_is_a_usage_error_before_anything_is_loaded_or_written(runner, tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("not an image")
    for command in (["clean"], ["corrupt", "--noise", "gaussian"]):
        result = runner.invoke(main, [*command, str(empty), str(tmp_path / "out")])
        assert result.exit_code == 2, result.output
        assert f"{empty}: no images in it or its subfolders" in result.stderr and "1 other file skipped" in result.stderr
        assert not (tmp_path / "out").exists()


def test_an_image_whose_alpha_its_format_cannot_hold_is_written_with_a_note(runner, tmp_path, clean_models):
    """An RGBA PNG named .jpg is written as the JPEG its name asks for: without alpha, and said so."""
    from PIL import Image as PILImage

    (tmp_path / "in").mkdir()
    rgba = (np.random.default_rng(3).random((24, 32, 4)) * 255).astype(np.uint8)
    PILImage.fromarray(rgba, "RGBA").save(tmp_path / "in" / "logo.jpg", format="PNG")
    result = clean(runner, tmp_path / "in", tmp_path / "out", "--model", clean_models.color, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"] == ["logo.jpg: a .jpg file holds no alpha: written without its transparency"]
    assert read_image(tmp_path / "out" / "logo.jpg").alpha is None


def test_a_file_that_is_not_a_keras_model_is_named_as_such(runner, tmp_path, noisy_set):
    """Keras says "File not found" for a file that exists but is no zip (a PNG renamed .keras)."""
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a model")
    result = clean(runner, noisy_set.noisy, tmp_path / "out", "--model", bad)
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {bad}: not a .keras model file (a .keras file is a zip archive)"
    listed = runner.invoke(main, ["models", str(bad)])
    assert listed.exit_code != 0 and "not a .keras model file" in listed.output
