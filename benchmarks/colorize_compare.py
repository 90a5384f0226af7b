"""Compare colorizers through `clean`'s path (chroma smoothed, corrected by the model's chroma
map, then capped or scaled) against the gray input, per set, with each photograph's PSNR change
on the nature set.

    python benchmarks/colorize_compare.py MODEL [MODEL ...] [--gain 1,0.5] [--cap 0.09,0]
        [--sets val-photo,val-sample,nature,opencv]

MODEL is a bundled name (``colorize-color``) or a ``.keras`` file. The validation crops
(``val-photo``, ``val-sample``: benchmarks/training_data.py) choose; the evaluation sets
(``nature``, ``opencv``: fetched by benchmarks/run.py) only show. Colour images only; the gray
input is the 8-bit gray file a user has, shown as RGB.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from denoisekit.colour_calibration import colour_photographs
from denoisekit.images import stored_values, to_gray, to_rgb
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr, ssim

HERE = Path(__file__).parent
SETS = {
    "val-photo": (Path("runs/val-images"), "photo-*.png"),
    "val-sample": (Path("runs/val-images"), "sample-*.png"),
    "nature": (HERE / "data" / "nature", "*.png"),
    "opencv": (HERE / "data" / "photos", "*.png"),
}


def colour_photos(folder: Path, pattern: str) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean RGB, the 8-bit gray file a user has) for each colour image of one set."""
    for path, clean in colour_photographs(sorted(folder.glob(pattern))):
        yield path.stem, clean, stored_values(to_gray(clean))


def compare(model: str, gain: float, cap: float, folder: Path, pattern: str) -> tuple[str, str]:
    """(summary, per-image PSNR changes) of ``model`` at chroma share ``gain`` and ``cap`` on one set."""
    restore = ModelRestore(model, chroma_gain=gain, chroma_cap=cap)
    rows = []
    for name, clean, gray in colour_photos(folder, pattern):
        out, shown = np.clip(restore(gray), 0, 1), to_rgb(gray)
        rows.append((name, psnr(clean, out), ssim(clean, out), psnr(clean, shown), ssim(clean, shown)))
    p, s, gp, gs = (np.mean([r[i] for r in rows]) for i in range(1, 5))
    summary = (f"{len(rows):2d} images  {p:.2f} dB / {s:.4f}  gray input {gp:.2f} / {gs:.4f}  "
               f"margin {p - gp:+.2f} / {s - gs:+.4f}")
    return summary, " ".join(f"{name}:{r_p - r_gp:+.2f}" for name, r_p, _, r_gp, _ in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--gain", default="1", help="chroma shares to try, comma-separated")
    parser.add_argument("--cap", default="0.09", help="chroma caps to try, comma-separated (0: none)")
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    for model in args.models:
        for gain, cap in ((float(g), float(c)) for g in args.gain.split(",") for c in args.cap.split(",")):
            for name in args.sets.split(","):
                summary, per_image = compare(model, gain, cap, *SETS[name])
                print(f"{Path(model).name} gain {gain:g} cap {cap:g} {name:10s} {summary}", flush=True)
                if name == "nature":
                    print(f"    {per_image}", flush=True)


if __name__ == "__main__":
    main()
