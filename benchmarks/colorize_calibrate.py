"""Calibrate a colorizer on the validation crops: the affine map from predicted to true chroma
(`denoisekit.calibrate_colorizer`, what `train` fits for new colorizers), then the cap and knee
of `clean`'s ``chroma.calibrate_chroma`` chosen from a grid with the map applied.

    python benchmarks/colorize_calibrate.py [MODEL] [--write OUT.keras]
        (after benchmarks/training_data.py and benchmarks/run.py have made both kinds of sets)

Rule (validation sets only): the largest worst-set SSIM gain over the gray input; among the
choices within ``SSIM_TOLERANCE`` of it, the greyest (the least mean colour on the validation
crops; issue 20 asks for colours greyer where unsure). The evaluation sets are printed beside,
to show, not to choose. ``--write`` stores the map in a copy of MODEL.
"""

from __future__ import annotations

import argparse

import numpy as np

from colorize_compare import SETS
from denoisekit.chroma import calibrate_chroma, fit_chroma_map, map_chroma
from denoisekit.colour_calibration import calibrate_colorizer, colorization_samples, colour_photographs
from denoisekit.metrics import psnr, ssim

VALIDATION = ("val-photo", "val-sample")
CAPS = (0.1, 0.12, 0.15, 0.2, 0.25, 0.3)
KNEES = (0.03, 0.06, 0.1, 0.15, 0.2, 0.3)
#: SSIM gains closer than this count as equal (about the spread between the validation sets' crops).
SSIM_TOLERANCE = 0.001
#: What clean did before the map (the previous cap and knee), printed for comparison.
BEFORE = (0.12, 0.1)


def load(model: str) -> dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]]:
    """{set: [(clean, luma, smoothed colorization before any correction, gray input's PSNR, its SSIM)]}
    for the colour images of every set."""
    sets = {}
    for name, (folder, pattern) in SETS.items():
        photos = [rgb for _, rgb in colour_photographs(sorted(folder.glob(pattern)))]
        items = []
        for luma, out, clean in colorization_samples(model, photos):
            shown = np.repeat(luma, 3, axis=-1)
            items.append((clean, luma, out, psnr(clean, shown), ssim(clean, shown)))
        sets[name] = items
    return sets


def made(luma: np.ndarray, out: np.ndarray, chroma_map, cap: float, knee: float) -> np.ndarray:
    """``clean``'s colorization from the smoothed prediction: the map (if any), then the cap."""
    out = out.copy()
    if chroma_map is not None:
        map_chroma(luma, out, chroma_map)
    return calibrate_chroma(luma, out, 1.0, cap, knee)


def margins(items, chroma_map, cap: float, knee: float) -> tuple[float, float, float]:
    """Mean PSNR and SSIM change over the gray input, and the mean colour (chroma length)."""
    dp = ds = colour = 0.0
    for clean, luma, out, gray_psnr, gray_ssim in items:
        rgb = made(luma, out, chroma_map, cap, knee)
        dp += psnr(clean, rgb) - gray_psnr
        ds += ssim(clean, rgb) - gray_ssim
        colour += float(np.linalg.norm(rgb - luma, axis=-1).mean())
    return dp / len(items), ds / len(items), colour / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="colorize-color")
    parser.add_argument("--write", metavar="OUT", help="write MODEL with the fitted map here")
    args = parser.parse_args()
    sets = load(args.model)
    chroma_map = fit_chroma_map((luma, out, clean) for name in VALIDATION for clean, luma, out, _, _ in sets[name])
    print("chroma map fitted on the validation crops (rows: red chroma, blue chroma, 1; columns: red, blue):")
    for row in chroma_map:
        print("   ", "  ".join(f"{v:+.4f}" for v in row))

    print("\nchange over the gray input, dB / SSIM (mean colour):")
    figures = {name: margins(items, None, *BEFORE) for name, items in sets.items()}
    print(f"  {'before: no map, cap %g knee %g' % BEFORE:34s} "
          + "  ".join(f"{n} {p:+.2f}/{s:+.4f}" for n, (p, s, _) in figures.items()))
    rows = []
    for cap, knee in [(0.0, 0.0)] + [(c, k) for c in CAPS for k in KNEES]:
        figures = {name: margins(items, chroma_map, cap, knee) for name, items in sets.items()}
        worst_ssim = min(figures[v][1] for v in VALIDATION)
        colour = float(np.mean([figures[v][2] for v in VALIDATION]))
        rows.append((worst_ssim, colour, cap, knee))
        label = "map, no cap" if not cap else f"map, cap {cap:g} knee {knee:g}"
        print(f"  {label:34s} " + "  ".join(f"{n} {p:+.2f}/{s:+.4f}" for n, (p, s, _) in figures.items())
              + f"  (colour {colour:.4f})", flush=True)
    best = max(r[0] for r in rows)
    worst_ssim, colour, cap, knee = min((r for r in rows if r[0] >= best - SSIM_TOLERANCE), key=lambda r: r[1])
    print(f"\nchosen on validation: {'no cap' if not cap else f'cap {cap:g} knee {knee:g}'} (worst validation set "
          f"SSIM {worst_ssim:+.4f} over the gray input, best {best:+.4f}; mean colour {colour:.4f})")
    if args.write:  # the same fit through the public function
        photos = sorted(path for folder, pattern in (SETS[v] for v in VALIDATION) for path in folder.glob(pattern))
        written = calibrate_colorizer(args.model, photos, args.write, overwrite=True)
        print(f"wrote {args.write} with its chroma_map {written}")


if __name__ == "__main__":
    main()
