"""Calibrate the colorizer's chroma on the validation crops: how much of the true colour lies
along the predicted one, by the predicted colour's strength, and the cap and knee of `clean`'s
``chroma.calibrate_chroma`` chosen from a grid.

    python benchmarks/colorize_calibrate.py [MODEL]      (after benchmarks/run.py has fetched both sets)

Rule (validation sets only): the largest worst-set SSIM gain over the gray input, ties (to 4
decimals) broken by the worst-set PSNR gain. The evaluation sets are printed beside, to show,
not to choose. Chroma is smoothed first (`clean`'s guided filter), as `clean` does.
"""

from __future__ import annotations

import sys

import numpy as np

from colorize_compare import SETS, colour_photos
from denoisekit.chroma import calibrate_chroma
from denoisekit.images import to_gray, to_rgb
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr, ssim

VALIDATION = ("val-photo", "val-sample")
EDGES = np.array([0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.3, 2.0])
CAPS = (0.06, 0.08, 0.09, 0.1, 0.12, 0.15)
KNEES = (0.03, 0.04, 0.06, 0.08, 0.1)


def load(model: str) -> dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]]:
    """{set: [(clean, luma, smoothed full-colour output, gray input's PSNR, its SSIM)]} for the
    colour images of every set."""
    restore = ModelRestore(model, chroma_gain=1.0, chroma_cap=0)
    sets = {}
    for name, (folder, pattern) in SETS.items():
        items = []
        for _, clean, gray in colour_photos(folder, pattern):
            luma = to_gray(to_rgb(gray))
            shown = np.repeat(luma, 3, axis=-1)
            items.append((clean, luma, np.clip(restore(gray), 0, 1), psnr(clean, shown), ssim(clean, shown)))
        sets[name] = items
    return sets


def along(items) -> str:
    """Per bin of predicted chroma length: its share of pixels and the least-squares gain from
    the prediction to the truth (the true chroma's component along the predicted one)."""
    num, den, count = (np.zeros(len(EDGES) - 1) for _ in range(3))
    for clean, luma, out, _, _ in items:
        c, t = (out - luma).reshape(-1, 3), (clean - luma).reshape(-1, 3)
        b = np.clip(np.digitize(np.linalg.norm(c, axis=1), EDGES) - 1, 0, len(num) - 1)
        np.add.at(num, b, (c * t).sum(1))
        np.add.at(den, b, (c * c).sum(1))
        np.add.at(count, b, 1)
    return "  ".join(f"{EDGES[i]:.2f}+: {count[i] / count.sum():4.0%} x{num[i] / max(den[i], 1e-12):+.2f}"
                     for i in range(len(num)))


def margins(items, gain: float, cap: float, knee: float) -> tuple[float, float]:
    """Mean PSNR and SSIM change over the gray input."""
    dp = ds = 0.0
    for clean, luma, out, gray_psnr, gray_ssim in items:
        made = calibrate_chroma(luma, out.copy(), gain, cap, knee)
        dp += psnr(clean, made) - gray_psnr
        ds += ssim(clean, made) - gray_ssim
    return dp / len(items), ds / len(items)


def main() -> None:
    sets = load(sys.argv[1] if len(sys.argv) > 1 else "colorize-color")
    print("true colour along the predicted one, per predicted strength (share of pixels, gain):")
    for name, items in sets.items():
        print(f"  {name:10s} {along(items)}")
    choices = [(g, 0.0, 0.06) for g in (0.5, 0.75, 1.0)] + [(1.0, c, k) for c in CAPS for k in KNEES]
    rows = []
    print("\nchange over the gray input, dB / SSIM:")
    for gain, cap, knee in choices:
        figures = {name: margins(items, gain, cap, knee) for name, items in sets.items()}
        worst = (min(round(figures[v][1], 4) for v in VALIDATION), min(figures[v][0] for v in VALIDATION))
        rows.append((worst, gain, cap, knee))
        label = f"gain {gain:g}" if not cap else f"cap {cap:g} knee {knee:g}"
        print(f"  {label:18s} " + "  ".join(f"{n} {p:+.2f}/{s:+.4f}" for n, (p, s) in figures.items()), flush=True)
    (ssim_gain, psnr_gain), gain, cap, knee = max(rows)
    print(f"\nchosen on validation: cap {cap:g} knee {knee:g} (worst validation set {psnr_gain:+.2f} dB, "
          f"SSIM {ssim_gain:+.4f} over the gray input)")


if __name__ == "__main__":
    main()
