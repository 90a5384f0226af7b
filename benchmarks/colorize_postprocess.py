"""Post-processing the colorization model's chroma: what a saturation factor and edge-aware
smoothing do, on the validation crops and on the evaluation photos. An experiment.

    python benchmarks/colorize_postprocess.py      (after benchmarks/run.py has fetched the photos)

Validation: samples/clean chelsea and coffee (never trained on; they picked the training
epoch). The photos only show what each choice would do: choosing on them would be tuning on
the test set. Color photos only (a gray photo has no color to restore).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from denoisekit.chroma import smooth_chroma
from denoisekit.images import has_color, read_image, stored_values, to_gray, to_rgb
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr, ssim

HERE = Path(__file__).parent


def load(paths, restore):
    """(clean, gray input replicated to RGB, raw model output) for each color image."""
    out = []
    for path in paths:
        clean = read_image(path).pixels.astype(np.float32)
        if not has_color(clean):  # a gray photograph stored as RGB
            continue
        gray = stored_values(to_gray(clean))  # the 8-bit gray file a user has
        out.append((clean, to_rgb(gray), restore(gray)))
    return out


def scores(items, post) -> str:
    outs = [(clean, np.clip(post(y, raw), 0, 1)) for clean, y, raw in items]
    return (f"{np.mean([psnr(c, o) for c, o in outs]):.2f} dB / "
            f"{np.mean([ssim(c, o) for c, o in outs]):.4f}")


def main() -> None:
    restore = ModelRestore("colorize-color", chroma_radius=0, chroma_gain=1.0, chroma_cap=0, chroma_map=False)  # raw
    sets = {"validation": load([HERE.parent / "samples/clean/chelsea.png", HERE.parent / "samples/clean/coffee.png"], restore),
            "photos": load(sorted((HERE / "data/photos").glob("*.png")), restore)}
    num = sum(float(np.sum((c - y) * (o - y))) for c, y, o in sets["validation"])
    den = sum(float(np.sum((o - y) ** 2)) for c, y, o in sets["validation"])
    print(f"saturation fitted on validation (least squares): {num / den:.3f}")
    rows = {f"saturation {s:.2f}": (lambda y, o, s=s: y + s * (o - y)) for s in (0, 0.25, 0.5, 0.75, 1.0, num / den)}
    for sigma in (2, 8, 16, 32, 64):
        rows[f"gaussian blur sigma {sigma}"] = lambda y, o, s=sigma: y + cv2.GaussianBlur(o - y, (0, 0), s)
    rows["one tint (mean chroma)"] = lambda y, o: y + (o - y).reshape(-1, 3).mean(0)
    for radius in (4, 8, 16, 32):
        rows[f"guided filter radius {radius}"] = lambda y, o, r=radius: smooth_chroma(y[..., :1], o.copy(), r)
    print("| chroma | " + " | ".join(sets) + " |\n|---|---|---|")
    for name, post in rows.items():
        print(f"| {name} | " + " | ".join(scores(items, post) for items in sets.values()) + " |")


if __name__ == "__main__":
    main()
