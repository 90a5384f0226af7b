"""Color Gaussian noise four ways: the color model, the gray model per RGB channel, the gray
model per opponent-colour channel (`-p color=opponent`), and `clean --model gaussian`'s default
for color images, the blend of all three per opponent channel (`denoisekit.inference.FUSION_WEIGHTS`;
until 2026-11-30 the first and the third only). An experiment.

    python benchmarks/color_opponent.py      (after benchmarks/run.py has fetched the photos)

Mean PSNR at sigma 15, 25 and 50 (noise clipped and rounded to 8 bits, seeded per image), on
the validation crops (samples/clean chelsea and coffee) and on the color evaluation photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from denoisekit.images import has_color, read_image
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr

HERE = Path(__file__).parent
WAYS = {
    "color model (gaussian-color)": ModelRestore("gaussian-color"),
    "gray model per RGB channel": ModelRestore("gaussian-gray"),
    "gray model per opponent channel": ModelRestore("gaussian-gray", color="opponent"),
    "blend of the three per opponent channel (clean's default)": ModelRestore("gaussian"),
}


def color_images(paths) -> list[np.ndarray]:
    images = [read_image(p).pixels.astype(np.float32) for p in paths]
    return [im for im in images if has_color(im)]


def main() -> None:
    sets = {"validation": color_images([HERE.parent / "samples/clean/chelsea.png", HERE.parent / "samples/clean/coffee.png"]),
            "photos": color_images(sorted((HERE / "data/photos").glob("*.png")))}
    print("| set | sigma | " + " | ".join(WAYS) + " |\n|---|---|" + "---|" * len(WAYS))
    for name, images in sets.items():
        for sigma in (15, 25, 50):
            noisy = [np.round(np.clip(im + np.random.default_rng(2026 + i).normal(0, sigma / 255, im.shape), 0, 1)
                              * 255).astype(np.float32) / 255 for i, im in enumerate(images)]
            cells = [np.mean([psnr(im, way(n)) for im, n in zip(images, noisy)]) for way in WAYS.values()]
            print(f"| {name} | {sigma} | " + " | ".join(f"{c:.2f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
