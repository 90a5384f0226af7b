"""Fit the noise-adaptive residual blend (denoisekit/blend.py) of the bundled Gaussian models on
their validation images, and with --write store each gain in the model's metadata.

    python benchmarks/calibrate_blend.py [--write] [MODEL ...]

Validation images: scikit-image's camera, coins, chelsea and coffee, whole (the training
validation set; never trained on), each corrupted at sigma 5, 15, 25, 35 and 50 the way
training corrupts (clipped, rounded to 8 bits), seed 2027. Prints, per model and sigma, the
mean PSNR without and with the blend; --write stores a gain only where it raises the mean
PSNR over the levels. The evaluation photos play no part.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile

import numpy as np

from denoisekit.blend import blend_residual, fit_blend_gain
from denoisekit.metrics import psnr
from denoisekit.modelio import load_denoiser, load_keras_model, resolve_model_path, update_metadata
from denoisekit.noise_ops import apply_corruption
from denoisekit.plugins import corruption
from denoisekit.tiling import tiled_apply
from denoisekit.training.datasets import load_validation_set
from denoisekit.training.pipeline import quantize

SIGMAS = (5, 15, 25, 35, 50)
SEED = 2027


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["gaussian-gray", "gaussian-color"])
    parser.add_argument("--write", action="store_true", help="store each fitted gain in its model's metadata")
    args = parser.parse_args()
    gaussian = corruption("gaussian").obj
    for name in args.models:
        denoiser = load_denoiser(name)
        images = load_validation_set(None, None, denoiser.channels).images
        triples = {}
        for sigma in SIGMAS:
            triples[sigma] = []
            for i, clean in enumerate(images):
                noisy = np.asarray(quantize(apply_corruption(gaussian, clean, {"sigma": float(sigma), "clip": True},
                                                             SEED, key=f"{sigma}-{i}")))
                restored = tiled_apply(noisy, denoiser, multiple=denoiser.size_multiple)
                triples[sigma].append((noisy, restored, clean))
        gain = fit_blend_gain(t for rows in triples.values() for t in rows)
        print(f"{name}: blend gain {gain:.3f}")
        print("| sigma | model | model + blend |\n|---|---|---|")
        change = []
        for sigma, rows in triples.items():
            plain = np.mean([psnr(c, r) for _, r, c in rows])
            blended = np.mean([psnr(c, blend_residual(n, r.copy(), gain)) for n, r, c in rows])
            change.append(blended - plain)
            print(f"| {sigma} | {plain:.2f} | {blended:.2f} |")
        if args.write and np.mean(change) > 0:
            write_gain(name, gain)
        elif args.write:
            print(f"{name}: the blend does not raise its mean validation PSNR; file left as it is")


def write_gain(name: str, gain: float) -> None:
    """Store ``blend_gain`` in the model file's metadata; the weights are untouched."""
    path = resolve_model_path(name)
    model = load_keras_model(path)
    update_metadata(model, blend_gain=round(gain, 3))
    with tempfile.TemporaryDirectory() as tmp:
        staged = os.path.join(tmp, path.name)
        model.save(staged)
        shutil.move(staged, path)
    print(f"wrote blend_gain {gain:.3f} into {path}")


if __name__ == "__main__":
    main()
