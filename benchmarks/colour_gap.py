"""Where the colour route loses to CBM3D(a): each restoration's error split into the orthonormal
opponent components (mean, red-blue, green-magenta), at sigma 25 on the evaluation crops.

    python benchmarks/colour_gap.py [--sets nature,opencv]      (about 6 minutes: CBM3D)

The crops are color_routes.py's (centre crops of at most 512x512), the Gaussian noise seeded
(7); `clean`'s default restores the noise clipped and rounded to 8 bits as a file stores it,
CBM3D the same noise unclipped and unrounded (the "(a)" of the targets). Prints, per set, the
PSNR of each component's mean square error and of their mean (the whole image's).
"""

from __future__ import annotations

import argparse

import numpy as np

from color_routes import image_sets
from denoisekit.images import stored_values
from denoisekit.inference import ModelRestore

#: Orthonormal rows: the error's energy splits exactly into these three components.
BASIS = np.array([[1, 1, 1], [1, 0, -1], [1, -2, 1]], np.float64)
BASIS /= np.linalg.norm(BASIS, axis=1, keepdims=True)
COMPONENTS = ("mean", "red-blue", "green-magenta")
SIGMA = 25


def component_mse(clean: np.ndarray, restored: np.ndarray) -> np.ndarray:
    error = (restored.astype(np.float64) - clean) @ BASIS.T
    return np.mean(error.reshape(-1, 3) ** 2, axis=0)


def main() -> None:
    import bm3d

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="nature,opencv")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    route = ModelRestore("gaussian")
    print("| set | restoration | " + " | ".join(COMPONENTS) + " | all |\n|---|---|---|---|---|---|")
    for name, images in image_sets(args.sets.split(",")).items():
        mse = {"clean (default)": [], "CBM3D(a)": []}
        for clean in images:
            noise = clean + rng.normal(0, SIGMA / 255, clean.shape)
            stored = stored_values(noise)
            mse["clean (default)"].append(component_mse(clean, route(stored)))
            mse["CBM3D(a)"].append(component_mse(clean, np.clip(bm3d.bm3d_rgb(noise, SIGMA / 255), 0, 1)))
        for label, rows in mse.items():
            mean = np.mean(rows, axis=0)
            cells = [f"{10 * np.log10(1 / m):.2f}" for m in (*mean, mean.mean())]
            print(f"| {name} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
