"""Report figures (strip-wise PSNR/SSIM, noise level) and the JSON/CSV writers."""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from denoisekit.noise_level import estimate_sigma
from denoisekit.reports import Report
from denoisekit.reports.formats import to_csv_text, to_json_text, write_report
from denoisekit.reports.scores import compare, figures, psnr, ssim


@pytest.mark.parametrize("shape", [(61, 45, 1), (40, 33, 3), (6, 9, 1)])
def test_strip_wise_psnr_and_ssim_equal_the_whole_image_ones(shape):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(0)
    reference = rng.random(shape, dtype=np.float32)
    test = np.clip(reference + rng.normal(0, 0.1, shape), 0, 1).astype(np.float32)
    whole_psnr = peak_signal_noise_ratio(reference, test, data_range=1.0)
    small = min(shape[:2])
    whole_ssim = structural_similarity(reference.astype(np.float64), test.astype(np.float64), data_range=1.0,
                                       channel_axis=-1, win_size=min(7, small if small % 2 else small - 1))
    for rows in (1, 7, 1000):
        assert psnr(reference, test, rows=rows) == pytest.approx(whole_psnr, abs=1e-5)
        assert ssim(reference, test, rows=rows) == pytest.approx(whole_ssim, abs=1e-9)
    assert psnr(reference, reference) == float("inf")


def test_compare_matches_channels_and_refuses_other_sizes():
    gray = np.random.default_rng(1).random((20, 30, 1), dtype=np.float32)
    scores = compare(np.repeat(gray, 3, axis=-1), gray)  # a gray input against an RGB reference
    assert scores["psnr"] == float("inf") and scores["ssim"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="differs from the reference"):
        compare(gray, gray[:10])


def test_noise_level_is_estimated_on_the_0_255_scale_from_a_centre_crop():
    rng = np.random.default_rng(2)
    noisy = np.clip(0.5 + rng.normal(0, 20 / 255, (3000, 200, 1)), 0, 1).astype(np.float32)
    assert estimate_sigma(noisy) == pytest.approx(20, rel=0.1)
    assert estimate_sigma(noisy, max_side=64) == pytest.approx(20, rel=0.2)
    found = figures(noisy, np.full_like(noisy, 0.5), None)
    assert set(found) == {"input", "output"} and found["output"]["sigma"] < 1e-6
    # A gray image three pixels wide is no colour image: measured without scikit-image's warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 0 < estimate_sigma(noisy[:, :3]) < 255
        # A flat image has no noise (numpy had warned, and a NaN reached the report); a colour whose
        # blue is 0 throughout is measured on its other channels.
        assert estimate_sigma(np.zeros((16, 16, 3), np.float32)) == 0.0
        rgb = np.repeat(noisy[:400], 3, axis=2)
        rgb[..., 2] = 0
        assert estimate_sigma(rgb) == pytest.approx(20, rel=0.1)


def sample_report(tmp_path: Path) -> Report:
    report = Report("median", {"size": 3}, tmp_path / "in", tmp_path / "out", tmp_path / "ref")
    report.rows = [
        {"file": "a.png", "status": "written", "model": None, "width": 100, "height": 100,
         "seconds": 0.02, "seconds_per_megapixel": 2.0, "error": None,
         "input": {"psnr": 20.0, "ssim": 0.5, "sigma": 25.0}, "output": {"psnr": 30.0, "ssim": 0.9, "sigma": 3.0}},
        {"file": "b.png", "status": "kept", "model": None, "width": 100, "height": 300,
         "seconds": None, "seconds_per_megapixel": None, "error": None,
         "input": {"psnr": 22.0, "ssim": 0.7, "sigma": 20.0},
         "output": {"psnr": float("inf"), "ssim": 1.0, "sigma": 0.0}},
    ]
    return report


def test_json_report_has_means_and_writes_infinite_psnr_as_null(tmp_path):
    data = json.loads(to_json_text(sample_report(tmp_path)))
    # An image with an infinite PSNR on either side is left out of both PSNR means: same files.
    assert data["mean"]["input"] == {"psnr": 20.0, "ssim": 0.6, "sigma": 22.5}
    assert data["mean"]["output"]["psnr"] == 30.0 and data["mean"]["output"]["ssim"] == pytest.approx(0.95)
    assert data["mean"]["seconds_per_megapixel"] == pytest.approx(2.0)  # kept outputs were not timed
    assert data["files"][1]["output"]["psnr"] is None
    assert data["restorer"] == "median" and data["params"] == {"size": 3} and data["mean"]["scored"] == 2


def test_csv_report_has_one_line_per_image_and_the_mean(tmp_path):
    rows = list(csv.DictReader(io.StringIO(to_csv_text(sample_report(tmp_path)))))
    assert [r["file"] for r in rows] == ["a.png", "b.png", "mean"]
    assert rows[2]["input_psnr"] == "20.0" and rows[0]["output_ssim"] == "0.9" and rows[1]["status"] == "kept"
    # An image that failed has its line too (the CSV had no trace of it; JSON and HTML had).
    report = sample_report(tmp_path)
    report.failed.append({"file": "broken.png", "error": "broken.png: not a readable image"})
    rows = list(csv.DictReader(io.StringIO(to_csv_text(report))))
    assert [(r["file"], r["status"]) for r in rows][2] == ("broken.png", "failed")
    assert rows[2]["error"] == "broken.png: not a readable image" and rows[3]["file"] == "mean"


def test_report_format_follows_the_suffix(tmp_path):
    report = sample_report(tmp_path)
    for name in ("r.json", "r.csv", "r.html"):
        write_report(report, tmp_path / "reports" / name)
    assert json.loads((tmp_path / "reports" / "r.json").read_text())["restorer"] == "median"
    assert (tmp_path / "reports" / "r.html").read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="report format"):
        write_report(report, tmp_path / "r.txt")


def test_seconds_per_megapixel_leave_out_the_one_off_start_of_each_kind_of_image(monkeypatch):
    # A model's first call on gray or on RGB images builds its graph (seconds); a fake clock
    # that such a restorer advances shows that cost lands in no image's time.
    from denoisekit import cleaning
    from denoisekit.cleaning import Cleaner
    from denoisekit.images import Image

    now, started = [0.0], set()

    def restore(pixels):
        if pixels.shape[2] not in started:
            started.add(pixels.shape[2])
            now[0] += 30.0  # tracing
        now[0] += pixels.shape[0] * pixels.shape[1] * 1e-6  # one second per megapixel
        return pixels

    monkeypatch.setattr(cleaning.time, "perf_counter", lambda: now[0])
    cleaner = Cleaner(restore, inputs=None, refs=None, crops=False)
    for channels in (1, 3, 1, 3):
        pixels = np.full((500, 400, channels), 0.5, np.float32)
        _, info = cleaner(Path(f"{channels}.png"), Image(pixels, np.dtype(np.uint8)))
        assert info["row"]["seconds_per_megapixel"] == pytest.approx(1.0)
    assert started == {1, 3}


def test_a_jpeg_output_is_measured_as_the_file_written_and_again_the_same_when_kept(tmp_path):
    """A JPEG's figures were those of the restoration before its lossy encoding (22.42 dB reported,
    22.52 in the file), and a rerun that kept the file reported the file's."""
    import cv2
    from click.testing import CliRunner

    from denoisekit.cli import main
    from denoisekit.images import read_image
    from denoisekit.metrics import psnr as file_psnr

    rng = np.random.default_rng(4)
    clean = cv2.GaussianBlur(rng.random((64, 80, 3)).astype(np.float32), (0, 0), 3)
    noisy = np.clip(clean + rng.normal(0, 0.08, clean.shape), 0, 1)
    (tmp_path / "in").mkdir(), (tmp_path / "ref").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "a.jpg"), np.rint(noisy * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 98])
    cv2.imwrite(str(tmp_path / "ref" / "a.png"), np.rint(clean * 255).astype(np.uint8))
    runs = []
    for _ in range(2):  # written, then kept
        result = CliRunner().invoke(main, ["clean", str(tmp_path / "in"), str(tmp_path / "out"), "--restorer", "median",
                                           "--reference", str(tmp_path / "ref"), "--json"])
        assert result.exit_code == 0, result.output
        runs.append(json.loads(result.stdout)["files"][0]["output"])
    expected = file_psnr(read_image(tmp_path / "ref" / "a.png").pixels, read_image(tmp_path / "out" / "a.jpg").pixels)
    assert [r["psnr"] for r in runs] == pytest.approx([expected, expected], abs=1e-6)
    assert runs[0]["ssim"] == pytest.approx(runs[1]["ssim"], abs=1e-9)


def test_a_stacks_input_and_output_means_cover_the_same_pages():
    """A page identical to its reference (infinite input PSNR) was left out of the input's mean
    but not the output's, overstating the gain (+4.66 dB reported, +4.0 on the same pages)."""
    from denoisekit.reports.stack_scores import StackFigures

    pages = [{"input": {"psnr": 20.0, "ssim": 0.5}, "output": {"psnr": 25.0, "ssim": 0.8}},
             {"input": {"psnr": float("inf"), "ssim": 1.0}, "output": {"psnr": 40.0, "ssim": 0.99}},
             {"input": {"psnr": 22.0, "ssim": 0.6}, "output": {"psnr": 27.0, "ssim": 0.9}}]
    means = StackFigures(pages=pages).means()
    assert means["input"]["psnr"] == pytest.approx(21.0) and means["output"]["psnr"] == pytest.approx(26.0)
    assert means["output"]["ssim"] == pytest.approx((0.8 + 0.99 + 0.9) / 3)  # SSIM is finite on every page
    # Every page identical to its reference: infinite, as an identical image is (it read as unmeasured).
    same = [{"input": {"psnr": float("inf")}, "output": {"psnr": float("inf")}}] * 2
    assert StackFigures(pages=same).means() == {"input": {"psnr": float("inf")}, "output": {"psnr": float("inf")}}
