"""How `clean` should restore colour photographs with Gaussian noise: the ways tried, on crops.

    python benchmarks/color_routes.py [--sets val,nature,opencv] [--json benchmarks/results/color_routes.json]

Ways (the bundled models; "opponent" is the gray model per opponent-colour channel, opponent.py):
- ``gray per RGB``: the gray model on each RGB channel;
- ``color model``: the colour DnCNN (``--model gaussian-color``);
- ``opponent``: full-size chroma, nothing else (``-p chroma_scale=1 -p declip=false``);
- ``opponent, chroma 1/2``: the chroma channels restored at half size (``-p chroma_scale=2 -p declip=false``);
- ``opponent, declipped`` and ``opponent, chroma 1/2, declipped``: then the clipping bias undone (declip.py);
- ``default``: `clean`'s, the chroma at half size from noise sigma 17 (its wavelet estimate), declipped;
- ``+ rgb_share 0.25``: the default with a quarter of the gray model per RGB channel (``-p rgb_share=0.25``);
- ``old blend``: the previous default, the colour model, gray per RGB and gray per opponent channel
  (full chroma, no declip) blended per opponent channel with its least-squares weights.

Sets, colour images only: ``val``, the validation photo crops (runs/val-images, 256x256, what the
choices were made on), at sigma 5, 15, 25 and 50; ``nature`` and ``opencv``, centre crops of at
most 512x512 of the two evaluation sets (benchmarks/data, fetched by run.py), at sigma 25.
Noise: Gaussian, seeded (7), clipped to [0, 1] and rounded to 8 bits as files store it; and at
sigma 25 also unclipped float noise, which shows what the clipping costs each way.
Mean PSNR per set; the table names the worst set of each way's margin over gray per RGB.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from denoisekit.images import has_color, read_image, stored_values
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr
from denoisekit.opponent import from_opponent, to_opponent

HERE = Path(__file__).parent
ROOT = HERE.parent
#: The previous default's shares per opponent channel (rows: mean, red-blue, green-magenta) of
#: (the color model, the gray model per RGB channel, the gray model per opponent channel).
OLD_WEIGHTS = np.array([[0.4, 0.3, 0.3], [0.4, 0.4, 0.2], [0.45, 0.2, 0.35]], np.float32)
SIGMAS = {"val": (5, 15, 25, 50), "nature": (25,), "opencv": (25,)}


def crops(paths: list[Path], side: int | None) -> list[np.ndarray]:
    """The colour images among ``paths``, centre-cropped to at most ``side``."""
    out = []
    for path in paths:
        image = read_image(path).pixels.astype(np.float32)
        if image.shape[2] != 3 or not has_color(image):
            continue
        h, w, _ = image.shape
        if side and min(h, w) > side:
            top, left = (h - side) // 2, (w - side) // 2
            image = image[top:top + side, left:left + side]
        out.append(np.ascontiguousarray(image))
    return out


def image_sets(names: list[str]) -> dict[str, list[np.ndarray]]:
    where = {"val": (ROOT / "runs/val-images", "photo-*.png", None),
             "nature": (HERE / "data/nature", "*.png", 512), "opencv": (HERE / "data/photos", "*.png", 512)}
    found = {}
    for name in names:
        folder, pattern, side = where[name]
        images = crops(sorted(folder.glob(pattern)), side)
        if not images:
            raise SystemExit(f"{folder}: no colour images (benchmarks/training_data.py, benchmarks/run.py fetch them)")
        found[name] = images
    return found


def ways(noisy: np.ndarray) -> dict[str, np.ndarray]:
    gray, color = ModelRestore("gaussian-gray"), ModelRestore("gaussian-color")

    def opponent(scale: int, declip: bool) -> np.ndarray:
        return ModelRestore("gaussian-gray", color="opponent", chroma_scale=scale, declip=declip)(noisy)

    found = {"gray per RGB": gray(noisy), "color model": color(noisy), "opponent": opponent(1, False),
             "opponent, chroma 1/2": opponent(2, False), "opponent, declipped": opponent(1, True),
             "opponent, chroma 1/2, declipped": opponent(2, True),
             "default (chroma 1/2 from sigma 17, declipped)": ModelRestore("gaussian")(noisy)}
    found["+ rgb_share 0.25"] = 0.75 * found["default (chroma 1/2 from sigma 17, declipped)"] + 0.25 * found["gray per RGB"]
    parts = [to_opponent(found[k]) for k in ("color model", "gray per RGB", "opponent")]
    found["old blend"] = from_opponent(sum(OLD_WEIGHTS[:, k] * part for k, part in enumerate(parts)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="val,nature,opencv")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "color_routes.json")
    args = parser.parse_args()
    rows = []
    for name, images in image_sets(args.sets.split(",")).items():
        for sigma in SIGMAS[name]:
            for clipped in (True, False) if sigma == 25 else (True,):
                rng = np.random.default_rng(7)
                scores: dict[str, list[float]] = {}
                for image in images:
                    noisy = image + rng.normal(0, sigma / 255, image.shape).astype(np.float32)
                    if clipped:
                        noisy = stored_values(noisy)
                    for way, out in ways(noisy.astype(np.float32)).items():
                        scores.setdefault(way, []).append(psnr(image, np.clip(out, 0, 1), data_range=1.0))
                row = {"set": name, "images": len(images), "sigma": sigma, "noise": "8-bit" if clipped else "float",
                       "psnr": {way: float(np.mean(v)) for way, v in scores.items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    names = list(rows[0]["psnr"])
    print("\n| set | sigma | noise | " + " | ".join(names) + " |\n|---|---|---|" + "---|" * len(names))
    for row in rows:
        print(f"| {row['set']} ({row['images']}) | {row['sigma']} | {row['noise']} | "
              + " | ".join(f"{row['psnr'][n]:.2f}" for n in names) + " |")
    print("\nWorst margin over gray per RGB (8-bit noise):")
    for n in names:
        margins = [(r["psnr"][n] - r["psnr"]["gray per RGB"], f"{r['set']} sigma {r['sigma']}")
                   for r in rows if r["noise"] == "8-bit"]
        print(f"- {n}: {min(margins)[0]:+.2f} dB ({min(margins)[1]})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
