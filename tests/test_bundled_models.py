"""The bundled models on the committed samples/: each must score as the README says (within
0.3 dB), so a weaker model cannot ship unnoticed; and `denoisekit models` routes each task to
the right bundled file per kind of image."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from denoisekit.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
TOLERANCE_DB = 0.3

# Mean PSNR (dB) of input -> output on samples/, as README.md's "Bundled models and benchmarks"
# section states them (the `samples/:` sentence at its end). test_readme_states_these_figures
# keeps the two in step: change both together, and only after measuring.
GAUSSIAN_PSNR = (20.61, 30.30)  # `denoisekit clean samples/noisy ...`
SALT_AND_PEPPER_PSNR = (14.78, 40.27)  # `--model salt-and-pepper` on samples/noisy-saltpepper
COLORIZE_PSNR = (16.35, 18.19)  # `--model colorize` on samples/clean's color crops made gray
#                                 (also benchmarks/README.md: "guided filter radius 16", validation)
COLOR_CROPS = ("chelsea.png", "coffee.png")  # samples/clean's color images; camera and coins are gray


def run(runner, *args) -> dict:
    result = runner.invoke(main, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def gray_color_crops(runner, folder: Path) -> Path:
    """samples/clean's color crops made gray by `denoisekit corrupt --noise grayscale`."""
    for name in COLOR_CROPS:
        run(runner, "corrupt", SAMPLES / "clean" / name, folder, "--noise", "grayscale")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("task, noisy, figures, models", [
    ("gaussian", "noisy", GAUSSIAN_PSNR, {1: "gaussian-gray", 3: "gaussian-gray + gaussian-chroma"}),
    ("salt-and-pepper", "noisy-saltpepper", SALT_AND_PEPPER_PSNR, {1: "salt-and-pepper-gray", 3: "salt-and-pepper-gray"}),
    ("colorize", None, COLORIZE_PSNR, {3: "colorize-color"}),
])
def test_bundled_model_scores_the_readme_figure_on_the_samples(runner, tmp_path, task, noisy, figures, models):
    source = SAMPLES / noisy if noisy else gray_color_crops(runner, tmp_path / "gray")
    data = run(runner, "clean", source, tmp_path / "out", "--model", task, "--reference", SAMPLES / "clean")
    assert data["failed"] == [] and data["mean"]["scored"] == len(data["files"]) == len(list(source.glob("*.png")))
    assert {f["channels_in"]: f["model"] for f in data["files"]} == models
    readme_in, readme_out = figures
    mean_in, mean_out = data["mean"]["input"]["psnr"], data["mean"]["output"]["psnr"]
    assert mean_in == pytest.approx(readme_in, abs=0.01)  # the samples are the ones the README measured
    assert mean_out >= readme_out - TOLERANCE_DB, f"{task}: {mean_out:.2f} dB, README says {readme_out:.2f}"
    assert mean_out > mean_in
    for row in data["files"]:
        assert row["output"]["psnr"] > row["input"]["psnr"], row["file"]


def test_readme_states_these_figures():
    text = " ".join((ROOT / "README.md").read_text().split())  # lines rewrapped freely
    sentence = text[text.index("`samples/`: `denoisekit clean samples/noisy ...`"):]
    patterns = {
        GAUSSIAN_PSNR: r"`denoisekit clean samples/noisy \.\.\.` \(the first command above\) gives",
        SALT_AND_PEPPER_PSNR: r"`--model salt-and-pepper` on `samples/noisy-saltpepper` gives",
        COLORIZE_PSNR: r"`--model colorize` on the two color crops \(chelsea, coffee\) made gray by "
                       r"`denoisekit corrupt --noise grayscale` gives",
    }
    for figures, words in patterns.items():
        found = re.search(words + r" (\d+\.\d\d) -> (\d+\.\d\d) dB", sentence)
        assert found, words
        assert (float(found[1]), float(found[2])) == figures


def test_models_routes_each_task_to_the_bundled_files(runner):
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = lines[lines.index("What `clean --model TASK` runs (default: gaussian):") + 3:]
    routes = {cells[0]: tuple(cells[1:]) for cells in (re.split(r"\s{2,}", line) for line in table)}
    assert routes == {
        "gaussian": ("gaussian-gray", "gaussian-gray per opponent-colour channel (gaussian-chroma on the chroma at 1/2 "
                                      "resolution from sigma 17), clipping undone"),
        "salt-and-pepper": ("salt-and-pepper-gray", "salt-and-pepper-gray per RGB channel"),
        "colorize": ("colorize-color (becomes RGB)", "colorize-color (colours re-predicted)"),
    }
