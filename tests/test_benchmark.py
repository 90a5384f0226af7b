"""denoisekit benchmark: seeded comparison table and JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from denoisekit.cli import main


@pytest.fixture
def clean_dir(tmp_path):
    from skimage import data
    import cv2

    folder = tmp_path / "clean"
    folder.mkdir()
    cv2.imwrite(str(folder / "camera.png"), data.camera()[:128, :160])
    cv2.imwrite(str(folder / "coins.png"), data.coins()[:96, :128])
    return folder


def test_benchmark_table_and_json(runner, clean_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "salt-and-pepper", "-p", "amount=0.1",
                                  "--restorers", "median,median:size=5,nlmeans", "--seed", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "median:size=5" in result.output and "s/MP" in result.output
    report = json.loads(out.read_text())
    rows = {r["restorer"]: r for r in report["results"]}
    assert list(rows) == ["noisy", "median", "median:size=5", "nlmeans"]
    assert rows["median"]["psnr"] > rows["noisy"]["psnr"] + 5  # a 3x3 median removes 10% impulses well
    assert rows["noisy"]["seconds_per_mp"] is None and rows["median"]["seconds_per_mp"] > 0
    assert [p["image"] for p in rows["median"]["per_image"]] == ["camera.png", "coins.png"]
    assert report["megapixels"] == pytest.approx((128 * 160 + 96 * 128) / 1e6)
    assert report["cpu"]["cores"] >= 1 and report["store"] == "png"
    assert report["noise_params"]["amount"] == "0.1" and "noise salt-and-pepper amount=0.1 salt_vs_pepper=0.5" in \
        result.output  # the defaults said too


def test_benchmark_is_reproducible_and_stores_8bit(runner, clean_dir, tmp_path):
    figures = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "-p", "sigma=20",
                             "--restorers", "median", "--seed", "9", "--json", str(out)], catch_exceptions=False)
        figures.append([r["psnr"] for r in json.loads(out.read_text())["results"]])
    assert figures[0] == figures[1]


def test_benchmark_passes_the_true_sigma_to_restorers_that_take_one(runner, clean_dir):
    import denoisekit
    from denoisekit.plugins import get_registry

    seen = []

    class Recorder(denoisekit.Restorer):
        name = "recorder"
        params = (denoisekit.Param("sigma", "float", 0.0, 0, 255),)

        def make(self, sigma=0.0):
            seen.append(sigma)
            return lambda pixels: pixels

    class Plugin:
        @denoisekit.hookimpl
        def register_restorers(self, register):
            register(Recorder())

    get_registry().register(Plugin(), "test-plugin")
    args = ["benchmark", str(clean_dir), "--noise", "gaussian", "-p", "sigma=30", "--restorers"]
    assert runner.invoke(main, [*args, "recorder"]).exit_code == 0
    assert runner.invoke(main, [*args, "recorder:sigma=12"]).exit_code == 0
    assert seen == [30.0, 12.0]  # the true level by default; an explicit one wins


def test_benchmark_noisy_input_is_stored_on_the_8bit_grid():
    from denoisekit.benchmarking import make_cases
    from denoisekit.plugins import corruption

    cases, _ = make_cases({"x": np.full((32, 32, 1), 0.5, np.float32)}, corruption("gaussian").obj,
                       {"sigma": 10.0, "clip": True}, seed=1)
    assert np.allclose(cases[0].noisy * 255, np.rint(cases[0].noisy * 255), atol=1e-4)  # 8-bit grid
    floats, _ = make_cases({"x": np.full((32, 32, 1), 0.5, np.float32)}, corruption("gaussian").obj,
                        {"sigma": 10.0, "clip": False}, seed=1, store="float")
    assert not np.allclose(floats[0].noisy * 255, np.rint(floats[0].noisy * 255), atol=1e-4)


def test_images_the_corruption_leaves_unchanged_are_left_out(runner, clean_dir, tmp_path):
    # A gray photo under colorization: its input would score infinite PSNR (dropped from the
    # input's mean) while a restorer's finite score on it would lift only the restorer's mean.
    from skimage import data
    import cv2

    cv2.imwrite(str(clean_dir / "rgb.png"), cv2.cvtColor(data.astronaut()[:96, :96], cv2.COLOR_RGB2BGR))
    out = tmp_path / "colorize.json"
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "grayscale", "--channels", "rgb",
                                  "--restorers", "median", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "note: camera.png left out: the corruption does not change it" in result.stderr
    report = json.loads(out.read_text())
    assert report["images"] == ["rgb.png"] and report["unchanged"] == ["camera.png", "coins.png"]
    assert all(len(r["per_image"]) == 1 for r in report["results"])


def test_an_unreadable_image_is_left_out_and_named_and_the_others_are_measured(runner, clean_dir, tmp_path):
    (clean_dir / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "bench.json"
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "--restorers", "median",
                                  "--json", str(out)])
    assert result.exit_code == 1  # as clean: the run goes on, the exit says not everything was measured
    assert "broken.png" in result.stderr and "left out" in result.stderr
    report = json.loads(out.read_text())
    assert report["images"] == ["camera.png", "coins.png"] and report["unreadable"] == ["broken.png"]


def test_benchmark_bad_restorer_is_a_usage_error(runner, clean_dir):
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "--restorers", "median,nope"])
    assert result.exit_code == 2 and "no restorer named 'nope'" in result.output
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "--restorers", "median:size=x"])
    assert result.exit_code == 2 and "size" in result.output


def test_the_warm_up_runs_once_per_kind_of_image_before_any_is_timed():
    """Only the first image was warmed up: the colour route's first RGB image after gray ones
    paid its one-off model loading and tracing inside its time (3x its s/MP in one pass)."""
    from denoisekit.benchmarking import Case, TimedRestorer

    calls = []
    restorer = TimedRestorer("fake", lambda pixels: calls.append(pixels.shape) or pixels)
    gray, rgb = np.ones((80, 90, 1), np.float32), np.ones((80, 90, 3), np.float32)
    restorer.run_pass([Case("g1", gray, gray), Case("c", rgb, rgb), Case("g2", gray, gray)])
    assert calls == [(64, 64, 1), (64, 64, 3), (80, 90, 1), (80, 90, 3), (80, 90, 1)]


def test_repeated_passes_keep_each_images_fastest_time_and_first_scores(monkeypatch):
    from denoisekit import benchmarking
    from denoisekit.benchmarking import Case, TimedRestorer

    # A fake clock: each restore call lasts the next of these durations (seconds).
    durations = iter([5.0, 1.0, 2.0, 9.0, 3.0, 0.5])
    now = [0.0]

    def restore(pixels):
        now[0] += next(durations)
        return np.full_like(pixels, 0.5)  # PSNR against ones: 20 log10(1 / 0.5) = 6.02 dB

    monkeypatch.setattr(benchmarking.time, "perf_counter", lambda: now[0])
    cases = [Case(name, np.ones((100, 100, 1), np.float32), np.ones((100, 100, 1), np.float32))
             for name in ("a", "b")]
    timed = TimedRestorer("half", restore)
    for _ in range(2):
        timed.run_pass(cases)  # first pass: warm-up 5.0 (untimed), a 1.0, b 2.0; second: a 9.0, b 3.0
    result = timed.result(cases)
    assert [row["seconds"] for row in result.per_image] == [1.0, 2.0]
    assert result.seconds_per_mp == pytest.approx(3.0 / 0.02)
    assert result.psnr == pytest.approx(6.0206, abs=1e-3) and len(result.per_image) == 2


def test_benchmark_repeat_times_every_image_in_each_pass(runner, clean_dir, tmp_path):
    import denoisekit
    from denoisekit.plugins import get_registry

    calls = []

    class Counter(denoisekit.Restorer):
        name = "counter"

        def make(self):
            return lambda pixels: calls.append(pixels.shape) or pixels

    class Plugin:
        @denoisekit.hookimpl
        def register_restorers(self, register):
            register(Counter())

    get_registry().register(Plugin(), "counting-plugin")
    reports = []
    for repeat in ("1", "3"):
        out = tmp_path / f"repeat{repeat}.json"
        result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "-p", "sigma=20",
                                      "--restorers", "counter,median", "--repeat", repeat, "--json", str(out)])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(out.read_text()))
    assert len(calls) == (1 + 2) + (1 + 3 * 2)  # a warm-up, then each image once per pass
    assert "fastest of 3 passes" in result.output and reports[1]["repeat"] == 3
    for report in reports:
        median = report["results"][2]
        assert median["seconds_per_mp"] == pytest.approx(sum(p["seconds"] for p in median["per_image"])
                                                         / report["megapixels"])
    assert [r["psnr"] for r in reports[0]["results"]] == [r["psnr"] for r in reports[1]["results"]]
    assert runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "--repeat", "0"]).exit_code == 2


@pytest.mark.parametrize("spec, message", [("median:size=4", "median size must be odd, not 4"),
                                           ("nlmeans:search=20", "nlmeans search must be odd, not 20")])
def test_a_restorer_value_it_refuses_is_one_line_and_exit_2(runner, clean_dir, spec, message):
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "-p", "sigma=20",
                                  "--restorers", spec])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {message}"


def test_weak_noise_stored_as_floats_is_noise(runner, clean_dir, tmp_path):
    """Below half an 8-bit step, float noise was taken for no change and every image left out."""
    out = tmp_path / "weak.json"
    result = runner.invoke(main, ["benchmark", str(clean_dir), "--noise", "gaussian", "-p", "sigma=0.05",
                                  "--store", "float", "--restorers", "median", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["unchanged"] == []
