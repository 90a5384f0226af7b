"""Choose between sets of bundled models on the validation images only (never the evaluation
photos): each task through `clean`'s own path (`inference.ModelRestore`, blend and
keep-untouched included), per validation set, with the worst set named.

    python benchmarks/select_models.py DIR [DIR ...] [--val runs/val-images] [--json out.json]
        [--only TEXT] [--option NAME=VALUE ...]

Each DIR holds a full set of bundled ``.keras`` files (``denoisekit/bundled`` is one). The
validation images are those of benchmarks/training_data.py, split into sets by name prefix
(``sample-``: the four scikit-image crops; ``photo-``: the held-out photographs' crops).
Noisy inputs are rounded to 8 bits as stored files are, seeded per image.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from denoisekit import modelio
from denoisekit.benchmarking import make_cases
from denoisekit.images import has_color, read_image, to_gray
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr, ssim
from denoisekit.plugins import corruption

#: task label -> (channels, corruption, params, model spec, restorer options)
TASKS = {
    "gray gaussian 15": ("gray", "gaussian", {"sigma": 15.0}, "gaussian", {}),
    "gray gaussian 25": ("gray", "gaussian", {"sigma": 25.0}, "gaussian", {}),
    "gray gaussian 50": ("gray", "gaussian", {"sigma": 50.0}, "gaussian", {}),
    "color gaussian 15": ("rgb", "gaussian", {"sigma": 15.0}, "gaussian", {}),
    "color gaussian 25": ("rgb", "gaussian", {"sigma": 25.0}, "gaussian", {}),
    "color gaussian 50": ("rgb", "gaussian", {"sigma": 50.0}, "gaussian", {}),
    "color gaussian 25, color model alone": ("rgb", "gaussian", {"sigma": 25.0}, "gaussian-color", {}),
    "color gaussian 25, gray model per channel": ("rgb", "gaussian", {"sigma": 25.0}, "gaussian-gray", {}),
    "gray salt-and-pepper 10%": ("gray", "salt-and-pepper", {"amount": 0.1}, "salt-and-pepper", {}),
    "gray salt-and-pepper 30%": ("gray", "salt-and-pepper", {"amount": 0.3}, "salt-and-pepper", {}),
    "gray salt-and-pepper 50%": ("gray", "salt-and-pepper", {"amount": 0.5}, "salt-and-pepper", {}),
    "colorization": ("rgb", "grayscale", {}, "colorize", {}),
}
SEED = 2027


def validation_sets(folder: Path) -> dict[str, dict[str, np.ndarray]]:
    sets: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for path in sorted(folder.glob("*.png")):
        sets[path.name.split("-", 1)[0]][path.stem] = read_image(path).pixels
    return dict(sets)


def evaluate(model_dir: Path, sets: dict[str, dict[str, np.ndarray]], tasks: dict = TASKS,
             extra: dict | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """{task: {set: {psnr, ssim}}} for the bundled models in ``model_dir`` (``extra``: restorer
    options on top of each task's own)."""
    modelio.BUNDLED_DIR = model_dir  # bundled_models() reads it at each call
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for task, (channels, noise, params, spec, options) in tasks.items():
        restore = ModelRestore(spec, **{**options, **(extra or {})})
        figures[task] = {}
        for set_name, images in sets.items():
            if channels == "gray":
                images = {n: to_gray(im) for n, im in images.items()}
            else:
                images = {n: im for n, im in images.items() if has_color(im)}
            if not images:
                continue
            cases, _ = make_cases(images, corruption(noise).obj, params, SEED)  # stored as 8-bit PNGs are
            outs = [np.clip(restore(c.noisy), 0, 1) for c in cases]
            figures[task][set_name] = {
                "psnr": float(np.mean([psnr(c.clean, out) for c, out in zip(cases, outs)])),
                "ssim": float(np.mean([ssim(c.clean, out) for c, out in zip(cases, outs)])),
                "input_psnr": float(np.mean([psnr(c.clean, c.noisy) for c in cases])),
            }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--val", type=Path, default=Path("runs/val-images"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", default="", help="the tasks whose label contains this text")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="a restorer option for every task, e.g. fill=0 (a number)")
    args = parser.parse_args()
    sets = validation_sets(args.val)
    tasks = {label: task for label, task in TASKS.items() if args.only in label}
    extra = {name: float(value) for name, value in (text.split("=", 1) for text in args.option)}
    results = {str(d): evaluate(d, sets, tasks, extra) for d in args.dirs}
    names = list(sets)
    print("| task | models | " + " | ".join(f"{s} PSNR / SSIM" for s in names) + " | worst set |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for task in tasks:
        for d, figures in results.items():
            cells = figures[task]
            worst = min(cells, key=lambda s: cells[s]["psnr"] - cells[s]["input_psnr"])
            print(f"| {task} | {d} | " + " | ".join(
                f"{cells[s]['psnr']:.2f} / {cells[s]['ssim']:.4f}" if s in cells else "-" for s in names)
                  + f" | {worst} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
