"""The chapter's colorization autoencoder, on small colour images that ship offline.

    pip install -e '.[plot]' scikit-learn          # scikit-learn for its two sample photos (optional)
    python examples/colorize.py --out runs/colorize

The chapter trains a conv autoencoder (three strided convolutions, a latent of 256, sigmoid
RGB output, MSE) to turn 32x32 gray CIFAR-10 images back into colour. Here the images are
the colour photographs scikit-image ships (astronaut, rocket, immunohistochemistry, Hubble
deep field, retina) and scikit-learn's two (china, flower), scaled to at most 160 pixels,
from which training cuts random 32x32 patches; chelsea and coffee, never trained on, are cut
into 32x32 tiles for the figures. The command (also printed):

    denoisekit train --noise grayscale --channels rgb --arch autoencoder -a size=32 -a depth=3 \\
        -a filters=32 -a latent=256 --augment flips --data DIR/train --val-data DIR/val \\
        --epochs 10 --steps-per-epoch 100 --batch 32 --seed 1 --out DIR/colorize.keras

Prints the mean PSNR of the gray tiles and of their colorizations against the colour
originals, and writes DIR/colorize-grid.jpg (rows: gray input, colorized, original).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data as skdata

from denoisekit.metrics import psnr

TRAIN = ("astronaut", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
HELD_OUT = ("chelsea", "coffee")
LONGEST_SIDE = 160
TILE = 32
FLAGS = ["--noise", "grayscale", "--channels", "rgb", "--arch", "autoencoder", "-a", f"size={TILE}",
         "-a", "depth=3", "-a", "filters=32", "-a", "latent=256", "--augment", "flips",
         "--epochs", "10", "--steps-per-epoch", "100", "--batch", "32", "--seed", "1"]


def small(image: np.ndarray) -> np.ndarray:
    scale = LONGEST_SIDE / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def photos(names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """scikit-image's photos by name (RGB uint8), with scikit-learn's two for training if installed."""
    found = {name: small(np.asarray(getattr(skdata, name)())[..., :3]) for name in names}
    if names == TRAIN:
        try:
            from sklearn.datasets import load_sample_images
        except ImportError:
            return found
        samples = load_sample_images()
        found.update({Path(f).stem: small(im) for f, im in zip(samples.filenames, samples.images)})
    return found


def write(folder: Path, images: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        cv2.imwrite(str(folder / f"{name}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def tiles(images: dict[str, np.ndarray]) -> np.ndarray:
    """Every whole 32x32 tile of the images, (N, 32, 32, 3) floats in [0, 1]."""
    cut = [im[y:y + TILE, x:x + TILE] for im in images.values()
           for y in range(0, im.shape[0] - TILE + 1, TILE) for x in range(0, im.shape[1] - TILE + 1, TILE)]
    return np.stack(cut).astype(np.float32) / 255.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/colorize"))
    parser.add_argument("--reuse", action="store_true", help="use the model an earlier run trained")
    args = parser.parse_args()
    held_out = photos(HELD_OUT)
    write(args.out / "train", photos(TRAIN))
    write(args.out / "val", held_out)
    model = args.out / "colorize.keras"
    command = ["train", *FLAGS, "--data", str(args.out / "train"), "--val-data", str(args.out / "val"),
               "--out", str(model), "--overwrite"]
    print("denoisekit " + " ".join(command), file=sys.stderr)
    if not (args.reuse and model.exists()):
        subprocess.run([sys.executable, "-m", "denoisekit", *command], check=True, stdout=subprocess.DEVNULL)

    from denoisekit.modelio import load_denoiser
    from denoisekit.noise_ops import apply_corruption
    from denoisekit.plugins import corruption

    color = tiles(held_out)
    gray = np.round(apply_corruption(corruption("grayscale").obj, color, {}, seed=0) * 255) / 255  # as trained
    colorized = np.round(load_denoiser(model)(gray) * 255) / 255
    before = np.mean([psnr(c, g) for c, g in zip(color, gray)])
    after = np.mean([psnr(c, o) for c, o in zip(color, colorized)])
    print(f"{len(color)} held-out 32x32 tiles of {', '.join(HELD_OUT)}: gray {before:.2f} dB -> colorized {after:.2f} dB")
    picks = np.linspace(0, len(color) - 1, 12).astype(int)
    rows = [np.concatenate([np.pad(tile, ((1, 1), (1, 1), (0, 0)), constant_values=1) for tile in row], axis=1)
            for row in (gray[picks], colorized[picks], color[picks])]
    picture = cv2.resize(np.concatenate(rows, axis=0), None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(args.out / "colorize-grid.jpg"),
                cv2.cvtColor(np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main()
