"""Recreate samples/: small clean crops of images scikit-image ships, and noisy versions.

These four images (camera, coins, chelsea, coffee) are also the validation set of
the bundled models: they are never used for training.

    python samples/make_samples.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from skimage import data

HERE = Path(__file__).parent
#: name -> (loader, crop rows, crop cols): small crops keep the demo quick.
SAMPLES = {
    "camera": (data.camera, slice(40, 296), slice(120, 376)),
    "coins": (data.coins, slice(0, 256), slice(60, 316)),
    "chelsea": (data.chelsea, slice(20, 276), slice(100, 356)),
    "coffee": (data.coffee, slice(72, 328), slice(170, 426)),
}


def main() -> None:
    clean = HERE / "clean"
    clean.mkdir(exist_ok=True)
    for name, (load, rows, cols) in SAMPLES.items():
        pixels = np.ascontiguousarray(load()[rows, cols])
        if pixels.ndim == 3:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(clean / f"{name}.png"), pixels)
    noisy = [
        ("noisy", "gaussian", "sigma=25"),
        ("noisy-saltpepper", "salt-and-pepper", "amount=0.1"),
    ]
    for folder, noise, param in noisy:
        subprocess.run(
            [sys.executable, "-m", "denoisekit", "corrupt", str(clean), str(HERE / folder),
             "--noise", noise, "-p", param, "--seed", "1", "--overwrite"],
            check=True,
        )


if __name__ == "__main__":
    main()
