"""CPU time `denoisekit train`'s tf.data feed spends on each (noisy, clean) batch, with no model.

    python benchmarks/feed.py [--batches 100] [--patch 128] [--batch 32]

On a GPU the model's step takes milliseconds and the patches are cut and corrupted on the
CPU cores, so CPU-milliseconds per batch say how many steps a second the cores can feed
(cores x 1000 / cpu_ms, shared between runs that train at once). Process CPU time is
reported beside wall time because it does not depend on what else the machine is doing.
Uses `train`'s default images (scikit-image's, `--data default`) and the bundled models'
corruption settings; each row runs in a fresh process. Prints a table and writes
benchmarks/results/feed.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
TASKS = (  # (corruption, parameters, channels)
    ("gaussian", {"sigma": (0.0, 55.0)}, 1),
    ("gaussian", {"sigma": (0.0, 55.0)}, 3),
    ("salt-and-pepper", {"amount": (0.0, 0.5)}, 1),
    ("grayscale", {}, 3),
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(task: int, batches: int, patch: int, batch: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per batch for TASKS[task], in this process."""
    from denoisekit.plugins import corruption
    from denoisekit.training.datasets import load_training_set
    from denoisekit.training.pipeline import patch_dataset

    name, params, channels = TASKS[task]
    images = load_training_set("default", channels).images
    stream = iter(patch_dataset(images, corruption(name).obj, params, patch=patch, batch=batch, seed=1))
    for _ in range(10):  # warm-up: tracing, the one-time decode, filling the prefetch buffer
        next(stream)
    cpu, wall = cpu_seconds(), time.perf_counter()
    for _ in range(batches):
        next(stream)
    return (cpu_seconds() - cpu) / batches * 1000, (time.perf_counter() - wall) / batches * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--task", type=int, help=argparse.SUPPRESS)  # one row, in a child process
    args = parser.parse_args()
    sizes = ["--batches", str(args.batches), "--patch", str(args.patch), "--batch", str(args.batch)]
    if args.task is not None:
        print(*measure(args.task, args.batches, args.patch, args.batch))
        return

    rows = []
    print(f"{'corruption':16s} {'channels':8s} {'CPU ms':>7s} {'wall ms':>7s}"
          f"  (per batch of {args.batch} x {args.patch}^2)")
    for task, (name, _, channels) in enumerate(TASKS):
        # A fresh process per row: a finished dataset's threads would keep working for the next.
        child = subprocess.run([sys.executable, __file__, "--task", str(task), *sizes],
                               capture_output=True, text=True, check=True)
        cpu_ms, wall_ms = (float(v) for v in child.stdout.split()[-2:])
        rows.append({"corruption": name, "channels": channels,
                     "cpu_ms": round(cpu_ms, 1), "wall_ms": round(wall_ms, 1)})
        print(f"{name:16s} {'gray' if channels == 1 else 'rgb':8s} {cpu_ms:7.1f} {wall_ms:7.1f}", flush=True)
    from denoisekit.benchmarking import cpu_description

    RESULTS.mkdir(exist_ok=True)
    out = {"command": "python benchmarks/feed.py " + " ".join(sizes), "cpu": cpu_description(), "rows": rows}
    (RESULTS / "feed.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS / 'feed.json'}")


if __name__ == "__main__":
    main()
