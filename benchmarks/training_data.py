"""Export the offline natural images the bundled models train on into a folder of PNGs.

    python benchmarks/training_data.py runs/train-images

Sources (all shipped inside installed packages, nothing downloaded): scikit-image's
natural images less its validation four (camera, coins, chelsea, coffee, see
denoisekit/training/datasets.py), scikit-learn's sample images (china, flower),
PyWavelets' aero and ascent, and matplotlib's grace_hopper.jpg. The validation
images are samples/clean (crops of the four held-out scikit-image images).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from denoisekit.training.datasets import DEFAULT_TRAIN


def sources() -> dict[str, np.ndarray]:
    from skimage import data

    found: dict[str, np.ndarray] = {}
    for name in DEFAULT_TRAIN:
        pixels = getattr(data, name)()
        found[f"skimage-{name}"] = pixels[0] if isinstance(pixels, tuple) else pixels
    try:
        from sklearn.datasets import load_sample_images

        for fname, pixels in zip(("china", "flower"), load_sample_images().images):
            found[f"sklearn-{fname}"] = pixels
    except ImportError:
        print("note: scikit-learn not installed, its two images are left out", file=sys.stderr)
    try:
        import pywt.data

        found["pywt-aero"] = pywt.data.aero()
        found["pywt-ascent"] = pywt.data.ascent()
    except ImportError:
        print("note: PyWavelets not installed, its images are left out", file=sys.stderr)
    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        found["matplotlib-grace_hopper"] = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    except ImportError:
        print("note: matplotlib not installed, grace_hopper is left out", file=sys.stderr)
    return found


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, pixels in sources().items():
        pixels = np.clip(np.asarray(pixels), 0, 255).astype(np.uint8)
        if pixels.ndim == 3:
            pixels = cv2.cvtColor(pixels[..., :3], cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(out / f"{name}.png"), pixels)
    print(f"wrote {len(list(out.glob('*.png')))} images to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/train-images"))
