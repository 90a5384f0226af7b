"""``clean`` on Dask: throughput with 1 and 2 local workers beside one process, and what the
scheduler costs per task, on this machine.

    python benchmarks/dask_clean.py [--files 8] [--side 512] [--tasks 1000]

Each ``clean`` run is a separate process, as a user runs it: its wall time includes starting the
cluster and TensorFlow in every worker, and the report's per-file seconds give the restoring
time alone (per-worker throughput: megapixels per second of restoring). The scheduler's overhead
is measured on a LocalCluster of 2 workers: no-op tasks (the scheduler alone), and ``clean_on_dask``
with an identity restorer on tiny images (the scheduler plus a worker's file handling). Prints a
table and writes benchmarks/results/dask_clean.json with the CPU (lscpu) and the load average.
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


def cpu() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return f"{fields.get('Model name', '?').strip()}, {fields.get('CPU(s)', '?').strip()} CPUs"


def make_images(folder: Path, count: int, side: int) -> float:
    """``count`` noisy gray PNGs of ``side`` x ``side`` (scikit-image's camera, tiled); megapixels."""
    import cv2
    from skimage import data

    camera = data.camera().astype(np.float32) / 255
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(count):
        tiled = np.tile(np.roll(camera, 37 * i, axis=1), (side // 512 + 1, side // 512 + 1))[:side, :side]
        noisy = np.clip(tiled + rng.normal(0, 25 / 255, tiled.shape), 0, 1)
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.rint(noisy * 255).astype(np.uint8))
    return count * side * side / 1e6


def clean_run(source: Path, out: Path, extra: list[str]) -> dict:
    report = out.with_suffix(".json")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "denoisekit", "clean", str(source), str(out), "--report", str(report),
                           *extra], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"clean {' '.join(extra)} failed: {done.stderr.strip().splitlines()[-1]}")
    rows = json.loads(report.read_text())["files"]
    return {"wall_s": wall, "restoring_s": sum(r["seconds"] for r in rows)}


def scheduler_overhead(tasks: int, files: int, folder: Path) -> dict:
    """Seconds per task: no-op tasks, and clean_on_dask's per-file cost with an identity restorer."""
    from dask.distributed import Client, LocalCluster

    from denoisekit.distributed import clean_on_dask

    import cv2

    tiny = folder / "tiny"
    tiny.mkdir()
    for i in range(files):
        cv2.imwrite(str(tiny / f"{i:04d}.png"), np.random.default_rng(i).integers(0, 256, (16, 16), np.uint8))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster, Client(cluster) as client:
        client.gather(client.map(lambda x: x, range(50), pure=False))  # warm up the workers
        start = time.perf_counter()
        client.gather(client.map(lambda x: x, range(tasks), pure=False))
        noop = (time.perf_counter() - start) / tasks
        clean_on_dask(tiny, folder / "tiny-warm", scheduler=cluster.scheduler_address, restorer=_identity)
        start = time.perf_counter()
        clean_on_dask(tiny, folder / "tiny-out", scheduler=cluster.scheduler_address, restorer=_identity)
        per_file = (time.perf_counter() - start) / files
    from denoisekit.batch import process_files
    from denoisekit.cleaning import Cleaner
    from denoisekit.files import collect_inputs

    inputs = collect_inputs(tiny)
    cleaner = Cleaner(_identity, inputs, None, crops=False)  # the same per-file work as on a worker
    start = time.perf_counter()
    process_files(inputs, folder / "tiny-serial", cleaner, show_progress=False, stack=cleaner.stack)
    serial = (time.perf_counter() - start) / files
    return {"noop_task_s": noop, "clean_file_2_workers_s": per_file, "clean_file_one_process_s": serial}


def _identity(pixels: np.ndarray) -> np.ndarray:
    return pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--model", default="gaussian")
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        megapixels = make_images(folder / "in", args.files, args.side)
        runs = {}
        for name, extra in (("one process", []), ("--workers 1", ["--workers", "1"]), ("--workers 2", ["--workers", "2"])):
            runs[name] = clean_run(folder / "in", folder / name.replace(" ", "_"), ["--model", args.model, *extra])
            runs[name].update(megapixels_per_s=megapixels / runs[name]["wall_s"],
                              restoring_megapixels_per_s=megapixels / runs[name]["restoring_s"])
        overhead = scheduler_overhead(args.tasks, 200, folder)
    result = {"cpu": cpu(), "load_average": os.getloadavg(), "files": args.files, "side": args.side,
              "megapixels": megapixels, "model": args.model, "runs": runs, "overhead": overhead}
    print(f"CPU: {result['cpu']}; load average at the end {result['load_average'][0]:.1f}")
    print(f"{args.files} gray {args.side}x{args.side} images ({megapixels:.1f} MP), --model {args.model}")
    print(f"{'run':<14}{'wall s':>9}{'MP/s':>8}{'restoring s':>13}{'MP/s restoring':>16}")
    for name, run in runs.items():
        print(f"{name:<14}{run['wall_s']:>9.1f}{run['megapixels_per_s']:>8.3f}{run['restoring_s']:>13.1f}"
              f"{run['restoring_megapixels_per_s']:>16.3f}")
    print(f"scheduler overhead per no-op task (2 workers): {overhead['noop_task_s'] * 1e3:.2f} ms")
    print(f"clean_on_dask per tiny file, identity restorer (2 workers): {overhead['clean_file_2_workers_s'] * 1e3:.2f} ms"
          f" (one process: {overhead['clean_file_one_process_s'] * 1e3:.2f} ms)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dask_clean.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
