"""Check the issue's targets against benchmarks/results/*.json (made by run.py) and print a
markdown table: target, measured figure, margin, met or not.

    python benchmarks/targets.py > benchmarks/results/targets.md
"""

from __future__ import annotations

import json
from pathlib import Path

from denoisekit.commands.benchmark import parse_restorer_spec
from denoisekit.params import split_assignments

RESULTS = Path(__file__).parent / "results"
#: `clean --model TASK` names (denoisekit.modelio.TASKS, not imported: that starts TensorFlow).
BUNDLED_TASKS = ("gaussian", "salt-and-pepper", "colorize")
BUNDLED = Path(__file__).parent.parent / "denoisekit" / "bundled"


def figures(task: str) -> dict[str, dict]:
    path = RESULTS / f"{task}.json"
    if not path.exists():
        return {}
    rows = {r["restorer"]: r for r in json.loads(path.read_text())["results"]}
    for label in list(rows):  # "model:model=salt-and-pepper" is the task's bundled model
        name, texts = parse_restorer_spec(label)
        params = split_assignments(texts)
        ensemble = params.pop("ensemble", "false") == "true"
        if name == "model" and params.pop("model", "gaussian") in BUNDLED_TASKS and not params:
            rows["model+ensemble" if ensemble else "model"] = rows[label]
    return rows


VARIANTS = (("model", ""), ("model+ensemble", " --ensemble"))


def row(target: str, measured: float | None, required: float | None, unit: str = "dB", higher: bool = True,
        strict: bool = False, digits: int = 2) -> str:
    if measured is None or required is None:
        return f"| {target} | not measured | | |"
    margin = measured - required if higher else required - measured
    met = margin > 0 if strict else margin >= 0
    ok = "met" if met else f"**not met** (short by {abs(margin):.{digits}f} {unit})".replace(" )", ")")
    return f"| {target} | {measured:.{digits}f} {unit} | {required:.{digits}f} {unit} | {ok} |"


def main() -> None:
    lines = ["| target | measured | required | result |", "|---|---|---|---|"]
    # Each quality target: the model as `clean` runs it by default, then with --ensemble (8x time).
    for sigma in (15, 25, 50):
        png, flt = figures(f"gray-gaussian-{sigma}"), figures(f"gray-gaussian-{sigma}-float")
        bm3d_a = flt.get("bm3d", {}).get("psnr")
        for key, how in VARIANTS:
            lines.append(row(f"gray gaussian sigma {sigma}: model{how} >= BM3D(a) + 0.5 dB",
                             png.get(key, {}).get("psnr"), None if bm3d_a is None else bm3d_a + 0.5))
    png, flt = figures("color-gaussian-25"), figures("color-gaussian-25-float")
    cbm3d_a = flt.get("bm3d", {}).get("psnr")
    opponent = (("model:model=gaussian-gray:color=opponent", " -p model=gaussian-gray -p color=opponent"),)
    for key, how in VARIANTS + opponent:
        lines.append(row(f"color gaussian sigma 25: model{how} >= CBM3D(a) + 0.5 dB", png.get(key, {}).get("psnr"),
                         None if cbm3d_a is None else cbm3d_a + 0.5))
    for amount, base, plus in ((10, "median", 6), (30, "median:size=5", 6), (50, "median:size=5", 5)):
        f = figures(f"gray-saltpepper-{amount}")
        ref = f.get(base, {}).get("psnr")
        label = "3x3" if base == "median" else "5x5"
        for key, how in VARIANTS:
            lines.append(row(f"salt-and-pepper gray {amount}%: model{how} >= {label} median + {plus} dB",
                             f.get(key, {}).get("psnr"), None if ref is None else ref + plus))
    f = figures("colorize")
    for metric, unit in (("psnr", "dB"), ("ssim", "")):
        for key, how in VARIANTS:
            lines.append(row(f"colorization {metric.upper()}: model{how} > gray input shown as color",
                             f.get(key, {}).get(metric), f.get("noisy", {}).get(metric), unit, strict=True,
                             digits=2 if metric == "psnr" else 5))
    # Speed: `clean`'s default; on color also the color model alone (-p fuse=false), half the work.
    speeds = (("gray", "BM3D", "OpenCV NLM", "model", ""), ("color", "CBM3D", "OpenCV colored NLM", "model", ""),
              ("color", "CBM3D", "OpenCV colored NLM", "model:fuse=false", " -p fuse=false"))
    for kind, bm3d, nlm, key, how in speeds:
        f = figures(f"{kind}-gaussian-25")
        model_s = f.get(key, {}).get("seconds_per_mp")
        bm3d_s = f.get("bm3d", {}).get("seconds_per_mp")
        nlm_s = f.get("nlmeans", {}).get("seconds_per_mp")
        lines.append(row(f"speed, {kind} sigma 25: model{how} s/MP <= {bm3d} s/MP / 30 (same run)", model_s,
                         None if bm3d_s is None else bm3d_s / 30, "s/MP", higher=False))
        lines.append(row(f"speed, {kind} sigma 25: model{how} s/MP <= {nlm} s/MP (same run)", model_s, nlm_s,
                         "s/MP", higher=False))
    for path in sorted(BUNDLED.glob("*.keras")):
        lines.append(row(f"model file size: {path.name} <= 5 MB", path.stat().st_size / 1e6, 5.0, "MB", higher=False))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
