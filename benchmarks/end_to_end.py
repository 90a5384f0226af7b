"""The whole `denoisekit clean` command against a plain OpenCV non-local-means script, end to end
(start-up, read, restore, write), on the same folder, in one run on one machine.

    python benchmarks/end_to_end.py [--set opencv] [--copies 10] [--cores 1,2] [--kinds gray,color]

The folder: each evaluation photo (benchmarks/run.py's sets), in gray or colour, with Gaussian
noise sigma 25 rounded to 8-bit PNGs, ``--copies`` times with fresh noise. Per kind of image and
number of cores (``taskset``: the processes may use only those cores), it times

- ``denoisekit clean IN OUT`` with the bundled default for that kind of image;
- a plain Python script: read, ``cv2.fastNlMeansDenoising`` (gray, h = 25) or
  ``fastNlMeansDenoisingColored`` (colour, h = hColor = 17.5, 0.7 sigma as the nlmeans restorer
  uses), write; given the true sigma, which favours it;
- the same work as ``clean`` split into stages in one process: start-up (Python, TensorFlow,
  the model and its first call), reading every file, the model on every image, writing them:
  where the time goes, done one after another.

and the mean PSNR of each output against the clean photos. Prints a table and writes
benchmarks/results/end_to_end.json with the CPU named.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results"
WORK = HERE.parent / "runs" / "end_to_end"
SIGMA = 25.0

NLM_SCRIPT = """
import sys, pathlib, cv2
src, dst, color = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3] == "color"
dst.mkdir(parents=True, exist_ok=True)
for path in sorted(src.glob("*.png")):
    if color:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        out = cv2.fastNlMeansDenoisingColored(image, None, 17.5, 17.5, 7, 21)
    else:
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        out = cv2.fastNlMeansDenoising(image, None, 25.0, 7, 21)
    cv2.imwrite(str(dst / path.name), out)
"""


def make_folders(photos: Path, copies: int, kinds: list[str]) -> dict[str, tuple[Path, Path, float]]:
    """Per kind: (noisy folder, clean folder, megapixels), made once with a fixed seed."""
    folders = {}
    for kind in kinds:
        noisy, clean = WORK / f"{kind}-noisy-{copies}", WORK / f"{kind}-clean-{copies}"
        pixels = 0
        if not noisy.exists():
            rng = np.random.default_rng(2027)
            tmp_noisy, tmp_clean = noisy.with_name(noisy.name + ".tmp"), clean.with_name(clean.name + ".tmp")
            for folder in (tmp_noisy, tmp_clean):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
            for path in sorted(photos.glob("*.png")):
                image = cv2.imread(str(path), cv2.IMREAD_COLOR if kind == "color" else cv2.IMREAD_GRAYSCALE)
                for copy in range(copies):
                    name = f"{path.stem}-{copy:02d}.png"
                    noise = rng.normal(0.0, SIGMA, image.shape)
                    cv2.imwrite(str(tmp_noisy / name), np.clip(np.rint(image + noise), 0, 255).astype(np.uint8))
                    cv2.imwrite(str(tmp_clean / name), image)
            tmp_clean.rename(clean), tmp_noisy.rename(noisy)
        for path in noisy.glob("*.png"):
            height, width = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[:2]
            pixels += height * width
        folders[kind] = (noisy, clean, pixels / 1e6)
    return folders


def pinned(cores: int) -> list[str]:
    return ["taskset", "-c", ",".join(str(c) for c in range(cores))] if shutil.which("taskset") else []


def timed_run(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds


def mean_psnr(out: Path, clean: Path) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    values = [peak_signal_noise_ratio(cv2.imread(str(clean / p.name), cv2.IMREAD_UNCHANGED),
                                      cv2.imread(str(p), cv2.IMREAD_UNCHANGED), data_range=255)
              for p in sorted(out.glob("*.png"))]
    return float(np.mean(values))


def stage_split(noisy: Path, out: Path) -> dict[str, float]:
    """The clean command's work, one stage at a time, in this (fresh) process: seconds per stage."""
    start = time.perf_counter()
    from denoisekit.arrays import make_restorer
    from denoisekit.images import read_image, write_image

    restore = make_restorer("model", model="gaussian")
    files = sorted(noisy.glob("*.png"))
    first = read_image(files[0])
    restore(first.pixels[:32, :32])  # the first call traces the model, as clean's warm-up does
    startup = time.perf_counter() - start
    t0 = time.perf_counter()
    images = [read_image(path) for path in files]
    t1 = time.perf_counter()
    restored = [image.with_pixels(np.clip(restore(image.pixels), 0, 1)) for image in images]
    t2 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for path, image in zip(files, restored):
        write_image(image, out / path.name)
    t3 = time.perf_counter()
    return {"startup": startup, "read": t1 - t0, "model": t2 - t1, "write": t3 - t2}


def measure(kind: str, noisy: Path, clean: Path, megapixels: float, cores: int) -> dict:
    pin = pinned(cores)
    row: dict = {"kind": kind, "cores": cores, "megapixels": round(megapixels, 2)}
    out = WORK / "out"
    for name, command in (
        ("denoisekit clean", [*pin, sys.executable, "-m", "denoisekit", "clean", str(noisy), str(out / "dk"),
                              "--model", "gaussian"]),
        ("NLM script", [*pin, sys.executable, "-c", NLM_SCRIPT, str(noisy), str(out / "nlm"), kind]),
    ):
        target = out / ("dk" if name.startswith("denoisekit") else "nlm")
        shutil.rmtree(target, ignore_errors=True)
        seconds = timed_run(command)
        row[name] = {"seconds": round(seconds, 2), "s_per_mp": round(seconds / megapixels, 3),
                     "psnr": round(mean_psnr(target, clean), 2)}
    shutil.rmtree(out / "split", ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([*pin, sys.executable, __file__, "--split", str(noisy), str(out / "split")],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    stages = json.loads(done.stdout)
    stages["total"] = time.perf_counter() - start
    row["stages (one after another)"] = {k: round(v / megapixels, 3) for k, v in stages.items()}
    return row


def table(rows: list[dict]) -> str:
    lines = ["| images | cores | MP | denoisekit clean s/MP (PSNR) | NLM script s/MP (PSNR) | clean / NLM | "
             "one after another: start-up / read / model / write / total s/MP |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        dk, nlm, st = r["denoisekit clean"], r["NLM script"], r["stages (one after another)"]
        lines.append(f"| {r['kind']} | {r['cores']} | {r['megapixels']} | {dk['s_per_mp']:.3f} ({dk['psnr']:.2f}) | "
                     f"{nlm['s_per_mp']:.3f} ({nlm['psnr']:.2f}) | {dk['s_per_mp'] / nlm['s_per_mp']:.2f} | "
                     f"{st['startup']:.3f} / {st['read']:.3f} / {st['model']:.3f} / {st['write']:.3f} / "
                     f"{st['total']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="opencv", choices=["opencv", "nature"])
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--cores", default="1,2", help="comma-separated core counts to pin to")
    parser.add_argument("--kinds", default="gray,color")
    parser.add_argument("--json", type=Path, default=RESULTS / "end_to_end.json", help="where the results go")
    parser.add_argument("--split", nargs=2, metavar=("NOISY", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.split:
        print(json.dumps(stage_split(Path(args.split[0]), Path(args.split[1]))))
        return
    from run import fetch_photos

    from denoisekit.benchmarking import cpu_description

    folders = make_folders(fetch_photos(args.set), args.copies, args.kinds.split(","))
    rows = []
    for kind, (noisy, clean, megapixels) in folders.items():
        for cores in (int(c) for c in args.cores.split(",")):
            if cores > (os.cpu_count() or 1):
                continue
            rows.append(measure(kind, noisy, clean, megapixels, cores))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    result = {"set": args.set, "copies": args.copies, "sigma": SIGMA, "cpu": cpu_description(), "rows": rows,
              "command": "python benchmarks/end_to_end.py " + " ".join(sys.argv[1:])}
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
