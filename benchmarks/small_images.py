"""`denoisekit clean` on a folder of many small images, with small images grouped into one model
call (the default) and one by one (`--no-group-small`), end to end (start-up, read, restore, write).

    python benchmarks/small_images.py [--count 2000] [--sizes 64] [--kinds gray] [--repeats 2]

The folder: ``--count`` crops of ``size`` x ``size`` from samples/clean (gray, or colour from the
colour photos), at seeded random places, with Gaussian noise sigma 25, as 8-bit PNGs; made once
under runs/small_images/. Per kind and size it times, in fresh processes, ``denoisekit clean`` on
one of the images (the start-up: Python, TensorFlow, the models and their first trace) and on the
whole folder with grouping on and off (alternating, the fastest of ``--repeats``), and compares
the two outputs pixel by pixel (they should not differ). Prints a table and writes
benchmarks/results/small_images.json with the CPU named.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
from end_to_end import timed_run  # a sibling script: benchmarks/ is on the path when run

HERE = Path(__file__).parent
RESULTS = HERE / "results"
SAMPLES = HERE.parent / "samples" / "clean"
WORK = HERE.parent / "runs" / "small_images"
SIGMA = 25.0
COLOR_PHOTOS = ("chelsea", "coffee")  # samples/clean's colour photographs; the others are gray


def make_folder(kind: str, size: int, count: int) -> Path:
    """``count`` noisy ``size`` x ``size`` crops of the samples (made once, seeded)."""
    folder = WORK / f"{kind}-{size}-{count}"
    if folder.exists():
        return folder
    color = kind == "color"
    photos = [cv2.imread(str(path), cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE)
              for path in sorted(SAMPLES.glob("*.png")) if not color or path.stem in COLOR_PHOTOS]
    rng = np.random.default_rng(2028)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "one").mkdir(parents=True)
    (tmp / "all").mkdir()
    for i in range(count):
        photo = photos[i % len(photos)]
        top, left = rng.integers(0, photo.shape[0] - size + 1), rng.integers(0, photo.shape[1] - size + 1)
        crop = photo[top:top + size, left:left + size].astype(np.float64)
        noisy = np.clip(np.rint(crop + rng.normal(0.0, SIGMA, crop.shape)), 0, 255).astype(np.uint8)
        cv2.imwrite(str(tmp / "all" / f"{i:05d}.png"), noisy)
    shutil.copy(tmp / "all" / "00000.png", tmp / "one")
    tmp.rename(folder)
    return folder


def timed_clean(source: Path, out: Path, extra: list[str]) -> float:
    shutil.rmtree(out, ignore_errors=True)
    return timed_run([sys.executable, "-m", "denoisekit", "clean", str(source), str(out), *extra])


def differences(first: Path, second: Path) -> dict:
    """8-bit values that differ between two output folders, and the largest difference."""
    differing, largest, pixels = 0, 0, 0
    for path in sorted(first.glob("*.png")):
        a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.int32)
        b = cv2.imread(str(second / path.name), cv2.IMREAD_UNCHANGED).astype(np.int32)
        differing += int(np.count_nonzero(a != b))
        largest = max(largest, int(np.abs(a - b).max()))
        pixels += a.size
    return {"values_differing": differing, "values": pixels, "largest_difference": largest}


def measure(kind: str, size: int, count: int, repeats: int, extra: list[str]) -> dict:
    folder = make_folder(kind, size, count)
    out = WORK / "out"
    startup = timed_clean(folder / "one", out / "one", extra)
    times: dict[str, list[float]] = {"grouped": [], "one by one": []}
    for repeat in range(repeats):  # alternating, so a slow spell of the machine hits both alike
        order = ("grouped", "one by one") if repeat % 2 == 0 else ("one by one", "grouped")
        for mode in order:
            flag = "--group-small" if mode == "grouped" else "--no-group-small"
            times[mode].append(timed_clean(folder / "all", out / mode.replace(" ", "-"), [*extra, flag]))
    row: dict = {"kind": kind, "size": size, "count": count, "startup_s": round(startup, 2)}
    for mode, seconds in times.items():
        best = min(seconds)
        row[mode] = {"seconds": round(best, 2), "all_seconds": [round(s, 2) for s in seconds],
                     "ms_per_image": round(1e3 * max(best - startup, 0.0) / count, 3)}
    row["speed_up"] = round(row["one by one"]["ms_per_image"] / max(row["grouped"]["ms_per_image"], 1e-9), 2)
    row["outputs"] = differences(out / "grouped", out / "one-by-one")
    return row


def table(rows: list[dict]) -> str:
    lines = ["| images | side | count | start-up s | grouped s | one by one s | grouped ms/image | "
             "one by one ms/image | speed-up | 8-bit values differing |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        on, off, diff = r["grouped"], r["one by one"], r["outputs"]
        lines.append(f"| {r['kind']} | {r['size']} | {r['count']} | {r['startup_s']:.2f} | {on['seconds']:.2f} | "
                     f"{off['seconds']:.2f} | {on['ms_per_image']:.3f} | {off['ms_per_image']:.3f} | "
                     f"{r['speed_up']:.2f} | {diff['values_differing']} of {diff['values']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="images in the folder")
    parser.add_argument("--sizes", default="64", help="comma-separated sides in pixels, e.g. 28,64,128")
    parser.add_argument("--kinds", default="gray", help="gray, color or gray,color")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each mode (the fastest is kept)")
    parser.add_argument("--clean-args", default="--model gaussian",
                        help="options for every `denoisekit clean` run, e.g. '--model gaussian -p chroma_scale=1'")
    parser.add_argument("--json", type=Path, default=RESULTS / "small_images.json", help="where the results go")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from denoisekit.benchmarking import cpu_description

    extra = args.clean_args.split()
    rows = []
    for kind in args.kinds.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(measure(kind, size, args.count, args.repeats, extra))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    print(table(rows))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    result = {"sigma": SIGMA, "clean_args": extra, "cpu": cpu_description(), "rows": rows,
              "command": "python benchmarks/small_images.py " + " ".join(sys.argv[1:])}
    args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
