"""Peak memory of restoring a large gray TIFF in chunks (``denoisekit.restore_large``, map_overlap)
beside restoring a smaller one whole in memory (``clean`` as before), each in its own process.

    python benchmarks/large_image.py [--megapixels 100] [--whole 16] [--chunk 2048]

The large image is scikit-image's camera tiled, with Gaussian noise (sigma 25), written as a
tiled, deflate-compressed TIFF. Peak memory is the child process's maximum resident set size
(``wait4``), TensorFlow's ~0.5 GB included. Prints a table and writes
benchmarks/results/large_image.json with the CPU and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def write_noisy_tiff(path: Path, megapixels: float) -> tuple[int, int]:
    """A square gray noisy TIFF of about ``megapixels``, written band by band (this process stays small)."""
    import tifffile
    from skimage import data

    side = int(round(np.sqrt(megapixels * 1e6) / 256)) * 256
    camera = data.camera().astype(np.float32) / 255
    rng = np.random.default_rng(0)

    def tiles():
        for top in range(0, side, 256):
            band = np.tile(camera, (1, side // 512 + 1))[top % 512:top % 512 + 256, :side]
            noisy = np.rint(np.clip(band + rng.normal(0, 25 / 255, band.shape), 0, 1) * 255).astype(np.uint8)
            for left in range(0, side, 256):
                yield noisy[:, left:left + 256]

    with tifffile.TiffWriter(path, bigtiff=True) as writer:
        writer.write(tiles(), shape=(side, side), dtype=np.uint8, tile=(256, 256), compression="zlib",
                     photometric="minisblack")
    return side, side


def measured(code: str) -> tuple[float, float]:
    """Run Python ``code`` in a child process: (wall seconds, peak resident memory in GB)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(child.pid, 0)
    if status:
        raise SystemExit(f"the child failed ({status}): {code}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024**2  # KB -> GB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=100)
    parser.add_argument("--whole", type=float, default=16,
                        help="megapixels of an image restored whole and in chunks, for contrast (0: none)")
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--model", default="gaussian")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs = [(args.whole, "whole"), (args.whole, "chunks")] if args.whole else []
        for megapixels, how in runs + [(args.megapixels, "chunks")]:
            source = folder / f"in-{megapixels:g}.tif"
            if not source.exists():
                shape = write_noisy_tiff(source, megapixels)
            target = folder / f"out-{how}-{megapixels:g}.tif"
            if how == "whole":
                code = (f"from denoisekit.cli import main; main(['clean', {str(source)!r}, {str(target)!r}, "
                        f"'--model', {args.model!r}], standalone_mode=False)")
            else:
                code = (f"from denoisekit import restore_large; restore_large({str(source)!r}, {str(target)!r}, "
                        f"model={args.model!r}, chunk={args.chunk})")
            wall, peak = measured(code)
            pixels = shape[0] * shape[1] / 1e6
            rows.append({"how": how, "megapixels": pixels, "shape": shape, "wall_s": wall, "peak_rss_gb": peak,
                         "seconds_per_megapixel": wall / pixels})
            print(f"{how:<7}{pixels:>8.1f} MP  {wall:>7.1f} s  {wall / pixels:>6.2f} s/MP  peak RSS {peak:.2f} GB",
                  flush=True)
            target.unlink(missing_ok=True)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    result = {"cpu": f"{name}, {os.cpu_count()} CPUs", "load_average": os.getloadavg(), "chunk": args.chunk,
              "model": args.model, "rows": rows}
    print(f"CPU: {result['cpu']}; load average at the end {result['load_average'][0]:.1f}; chunk {args.chunk}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "large_image.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
