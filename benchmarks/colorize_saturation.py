"""Would scaling the colorization model's chroma (a saturation factor) help? An experiment.

    python benchmarks/colorize_saturation.py      (after benchmarks/run.py has fetched the photos)

Fits the factor by least squares on the validation crops (samples/clean chelsea and coffee),
then prints PSNR / SSIM on those crops and on the evaluation photos for a range of factors.
The photos only show what a factor would do: choosing it on them would be tuning on the test
set. Color photos only (a gray photo has no color to restore)."""
import sys
from pathlib import Path
import numpy as np
from denoisekit.images import read_image, to_gray, to_rgb
from denoisekit.inference import ModelRestore
from denoisekit.metrics import psnr, ssim

def quant(x): return np.round(np.clip(x, 0, 1) * 255) / 255

restore = ModelRestore("colorize-color")
def load(paths):
    out = []
    for p in paths:
        clean = read_image(p).pixels.astype(np.float32)
        if clean.shape[-1] != 3 or np.allclose(clean[..., 0], clean[..., 1]) and np.allclose(clean[..., 1], clean[..., 2]):
            continue
        gray = quant(to_gray(clean))
        out.append((Path(p).stem, clean, gray, restore(gray)))
    return out

val = load(["samples/clean/chelsea.png", "samples/clean/coffee.png"])
photos = load(sorted(Path("benchmarks/data/photos").glob("*.png")))
num = sum(float(np.sum((c - to_rgb(g)) * (o - to_rgb(g)))) for _, c, g, o in val)
den = sum(float(np.sum((o - to_rgb(g)) ** 2)) for _, c, g, o in val)
print("projection s* on validation:", num / den)
for s in (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, num / den):
    row = []
    for name, items in (("val", val), ("photos", photos)):
        ps = [psnr(c, np.clip(to_rgb(g) + s * (o - to_rgb(g)), 0, 1)) for _, c, g, o in items]
        ss = [ssim(c, np.clip(to_rgb(g) + s * (o - to_rgb(g)), 0, 1)) for _, c, g, o in items]
        row.append(f"{name} {np.mean(ps):.2f} / {np.mean(ss):.4f}")
    print(f"s={s:.3f}: " + "   ".join(row))
