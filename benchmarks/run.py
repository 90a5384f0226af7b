"""The full comparison behind benchmarks/README.md: every bundled model against BM3D,
non-local means, median and switching median filters, on photographs the models never saw.

    python benchmarks/run.py [TASK ...] [--set opencv|nature ...] [--seed N] [--repeat N]

Evaluation sets (fetched with `apt-get download`, unpacked, never installed; no image of the
training or validation packages of benchmarks/training_data.py is among them):
- ``opencv``: 10 everyday photographs from Debian's opencv-doc package, centre crops of at
  most 384x384 (1.45 MP);
- ``nature``: the 12 photographs of Debian's mate-backgrounds "nature" folder (flowers,
  foliage, a meadow, raindrops, sand, water, wood; many saturated colours), area-downscaled
  by round(short side / 900) as the training photos were, then centre crops of 384x384
  (1.77 MP).
Each task runs `denoisekit benchmark` (noisy input clipped and stored as 8-bit PNG unless
said otherwise) and writes benchmarks/results/SET/TASK.json; the tables go to
benchmarks/results/SET/tables.md. Run nothing else meanwhile: the times are wall-clock. The
tasks the speed targets read (``TIMED``) time each image as the fastest of ``--repeat`` passes
over all their restorers, so a burst of load on a shared machine does not decide a row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

HERE = Path(__file__).parent
DATA = HERE / "data"
RESULTS = HERE / "results"
EXAMPLES = "usr/share/doc/opencv-doc/examples/data"
NATURE = "usr/share/backgrounds/mate/nature"
#: Natural photographs in opencv-doc's sample data (test patterns, logos, drawings left out).
PHOTOS = ("baboon.jpg", "fruits.jpg", "building.jpg", "butterfly.jpg", "messi5.jpg", "squirrel_cls.jpg",
          "rubberwhale1.png", "basketball1.png", "chicky_512.png", "home.jpg")
NATURE_PHOTOS = ("Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "Garden.jpg", "GreenMeadow.jpg",
                 "LadyBird.jpg", "RainDrops.jpg", "Storm.jpg", "TwoWings.jpg", "Wood.jpg", "YellowFlower.jpg")
CROP = 384
#: Tasks whose seconds per megapixel the speed targets compare (benchmarks/targets.py).
TIMED = ("gray-gaussian-25", "color-gaussian-25")

#: The bundled salt-and-pepper model, plain and as a self-ensemble (8 flips/rotations averaged).
SP = "model:model=salt-and-pepper,model:model=salt-and-pepper:ensemble=true,switching-median,impulse-fill"
TASKS = {
    # name: (channels, noise params, restorers, store)
    "gray-gaussian-15": ("gray", ["gaussian", "sigma=15"], "model,model:ensemble=true,bm3d,nlmeans", "png"),
    "gray-gaussian-25": ("gray", ["gaussian", "sigma=25"], "model,model:ensemble=true,bm3d,nlmeans", "png"),
    "gray-gaussian-50": ("gray", ["gaussian", "sigma=50"], "model,model:ensemble=true,bm3d,nlmeans", "png"),
    "color-gaussian-25": ("rgb", ["gaussian", "sigma=25"], "model,model:ensemble=true,model:rgb_share=0.25,model:declip=false,"
                          "model:model=gaussian-color,model:model=gaussian-gray,bm3d,nlmeans", "png"),
    # BM3D on unclipped float noise (input "a" of ../shared/README.md), what the targets count from:
    "gray-gaussian-15-float": ("gray", ["gaussian", "sigma=15", "clip=false"], "bm3d", "float"),
    "gray-gaussian-25-float": ("gray", ["gaussian", "sigma=25", "clip=false"], "bm3d", "float"),
    "gray-gaussian-50-float": ("gray", ["gaussian", "sigma=50", "clip=false"], "bm3d", "float"),
    "color-gaussian-25-float": ("rgb", ["gaussian", "sigma=25", "clip=false"], "bm3d", "float"),
    "gray-saltpepper-10": ("gray", ["salt-and-pepper", "amount=0.1"], SP + ",median,median:size=5", "png"),
    "gray-saltpepper-30": ("gray", ["salt-and-pepper", "amount=0.3"], SP + ",median,median:size=5", "png"),
    "gray-saltpepper-50": ("gray", ["salt-and-pepper", "amount=0.5"], SP + ",median,median:size=5", "png"),
    "color-saltpepper-30": ("rgb", ["salt-and-pepper", "amount=0.3"], SP + ",median:size=5", "png"),
    "colorize": ("rgb", ["grayscale"], "model:model=colorize,model:model=colorize:ensemble=true,"
                 "model:model=colorize:chroma_radius=0", "png"),
}


def _centre_crop(image, size: int = CROP):
    h, w = image.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[top:top + size, left:left + size]


def _fetch(folder: Path, package: str, inside: str, names: tuple[str, ...], prepare) -> Path:
    """``names`` from ``package``'s ``inside`` folder, prepared and stored once as PNGs in ``folder``."""
    if folder.is_dir() and len(list(folder.glob("*.png"))) == len(names):
        return folder
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True)
        deb = next(Path(tmp).glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            image = cv2.imread(str(Path(tmp) / inside / name), cv2.IMREAD_COLOR)
            cv2.imwrite(str(folder / (Path(name).stem + ".png")), prepare(image))
    return folder


def _downscale_and_crop(image):
    """As the training photos are downscaled (training_data.downscale), then the centre crop."""
    from training_data import downscale

    return _centre_crop(downscale(image))


#: Evaluation set -> how to fetch its photos into benchmarks/data/SET.
SETS = {
    "opencv": lambda: _fetch(DATA / "photos", "opencv-doc", EXAMPLES, PHOTOS, _centre_crop),
    "nature": lambda: _fetch(DATA / "nature", "mate-backgrounds", NATURE, NATURE_PHOTOS, _downscale_and_crop),
}


def fetch_photos(set_name: str = "opencv") -> Path:
    """The evaluation set's photos in benchmarks/data (fetched once)."""
    return SETS[set_name]()


def run_task(name: str, photos: Path, results: Path, seed: int, repeat: int = 1, skip: tuple[str, ...] = ()) -> dict:
    """Run one task; restorers named in ``skip`` are not run, their rows carried over from the
    task's earlier result (marked ``carried_over``) where there is one."""
    channels, (noise, *params), restorers, store = TASKS[name]
    out = results / f"{name}.json"
    earlier = json.loads(out.read_text()) if out.exists() else None
    kept = [r for r in restorers.split(",") if r.split(":")[0] not in skip]
    if not kept:
        return earlier or {"results": []}
    restorers = ",".join(kept)
    command = ["denoisekit", "benchmark", str(photos), "--noise", noise, "--channels", channels,
               "--restorers", restorers, "--store", store, "--seed", str(seed), "--repeat", str(repeat),
               "--json", str(out)]
    for p in params:
        command += ["-p", p]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    result = json.loads(out.read_text())
    result["command"] = " ".join(command)
    if earlier and skip:
        carried = [{**r, "carried_over": earlier.get("command", "an earlier run")} for r in earlier["results"]
                   if r["restorer"].split(":")[0] in skip]
        result["results"] += carried
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def table(results: dict[str, dict]) -> str:
    lines = ["| task | restorer | PSNR (dB) | SSIM | s/MP |", "|---|---|---|---|---|"]
    for task, result in results.items():
        for r in result["results"]:
            s = "" if r["seconds_per_mp"] is None else f"{r['seconds_per_mp']:.3g}"
            mark = " (earlier run)" if r.get("carried_over") else ""
            lines.append(f"| {task} | {r['restorer']}{mark} | {r['psnr']:.2f} | {r['ssim']:.3f} | {s} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tasks", nargs="*", default=list(TASKS), help="tasks to run (default: all)")
    parser.add_argument("--set", dest="sets", action="append", choices=list(SETS),
                        help="evaluation set, repeatable (default: all)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--repeat", type=int, default=3, help="timing passes for the TIMED tasks (default: 3)")
    parser.add_argument("--skip", action="append", default=[],
                        help="restorer not to rerun (e.g. bm3d, whose inputs and code did not change): "
                             "its rows are carried over from each task's earlier result, marked")
    args = parser.parse_args()
    for set_name in args.sets or list(SETS):
        photos, results_dir = fetch_photos(set_name), RESULTS / set_name
        results_dir.mkdir(parents=True, exist_ok=True)
        results = {}
        for name in args.tasks:
            results[name] = run_task(name, photos, results_dir, args.seed, args.repeat if name in TIMED else 1,
                                     tuple(args.skip))
        for path in sorted(results_dir.glob("*.json")):  # tasks run earlier too
            results.setdefault(path.stem, json.loads(path.read_text()))
        ordered = {k: results[k] for k in TASKS if k in results}
        text = table(ordered)
        (results_dir / "tables.md").write_text(text)
        print(f"## {set_name}\n\n{text}")


if __name__ == "__main__":
    main()
