"""Check the issues' targets against benchmarks/results/SET/*.json (made by run.py) on every
evaluation set and print a markdown table: target, set, measured figure, margin, met or not,
and, per target, the worst set.

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


def figures(task: str, set_name: str, root: Path = RESULTS) -> dict[str, dict]:
    path = root / set_name / f"{task}.json"
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
#: Colour also with a share of the gray model per RGB channel blended in (clean -p rgb_share=0.25).
COLOR_VARIANTS = VARIANTS + (("model:rgb_share=0.25", " -p rgb_share=0.25"),)
#: Sets whose times count: run.py times opencv's two speed tasks as the fastest of 3 passes on
#: an otherwise idle machine; other sets run one pass, possibly beside other work.
TIMED_SETS = ("opencv",)


def sets() -> list[str]:
    return sorted(p.name for p in RESULTS.iterdir() if p.is_dir() and p.name != "before" and any(p.glob("*.json")))


def row(target: str, set_name: str, measured: float | None, required: float | None, unit: str = "dB",
        higher: bool = True, strict: bool = False, digits: int = 2,
        before: float | None = None) -> tuple[str, float | None]:
    """A table row and its margin (None where not measured); ``before``: the earlier models' figure."""
    was = "" if before is None else f"{before:.{digits}f} {unit}".strip()
    if measured is None or required is None:
        return f"| {target} | {set_name} | {was} | not measured | | |", None
    margin = measured - required if higher else required - measured
    met = margin > 0 if strict else margin >= 0
    ok = "met" if met else f"**not met** (short by {abs(margin):.{digits}f} {unit})".replace(" )", ")")
    return (f"| {target} | {set_name} | {was} | {measured:.{digits}f} {unit} | {required:.{digits}f} {unit} | {ok} |",
            margin)


def checks(set_name: str, root: Path = RESULTS):
    """(target, measured, required, options) for one evaluation set."""
    def fig(task: str) -> dict[str, dict]:
        return figures(task, set_name, root)

    def get(rows: dict, key: str, metric: str = "psnr"):
        return rows.get(key, {}).get(metric)

    for sigma in (15, 25, 50):
        png, bm3d_a = fig(f"gray-gaussian-{sigma}"), get(fig(f"gray-gaussian-{sigma}-float"), "bm3d")
        for key, how in VARIANTS:
            yield (f"gray gaussian sigma {sigma}: model{how} >= BM3D(a) + 0.5 dB", get(png, key),
                   None if bm3d_a is None else bm3d_a + 0.5, {})
    png, cbm3d_a = fig("color-gaussian-25"), get(fig("color-gaussian-25-float"), "bm3d")
    for key, how in COLOR_VARIANTS:
        yield (f"color gaussian sigma 25: model{how} >= CBM3D(a) + 0.5 dB", get(png, key),
               None if cbm3d_a is None else cbm3d_a + 0.5, {})
    for metric in ("psnr", "ssim"):
        for key, how in COLOR_VARIANTS[::2]:
            yield (f"color gaussian sigma 25: model{how} >= gaussian-gray per RGB channel ({metric.upper()})",
                   get(png, key, metric), get(png, "model:model=gaussian-gray", metric),
                   {"unit": "dB" if metric == "psnr" else "", "digits": 2 if metric == "psnr" else 4})
    for amount in (10, 30, 50):
        f = fig(f"gray-saltpepper-{amount}")
        ref, ref_ssim = get(f, "switching-median"), get(f, "switching-median", "ssim")
        for key, how in VARIANTS:
            yield (f"salt-and-pepper gray {amount}%: model{how} >= switching median + 2 dB", get(f, key),
                   None if ref is None else ref + 2, {})
        yield (f"salt-and-pepper gray {amount}%: model > switching median by SSIM", get(f, "model", "ssim"),
               ref_ssim, {"unit": "", "digits": 4, "strict": True})
    f = fig("colorize")
    for metric, unit in (("psnr", "dB"), ("ssim", "")):
        for key, how in VARIANTS:
            yield (f"colorization {metric.upper()}: model{how} > gray input shown as color", get(f, key, metric),
                   get(f, "noisy", metric), {"unit": unit, "strict": True, "digits": 2 if metric == "psnr" else 5})
    # Speed: `clean`'s default.
    speeds = (("gray", "BM3D", "OpenCV NLM", "model", ""), ("color", "CBM3D", "OpenCV colored NLM", "model", ""),
              ("color", "CBM3D", "OpenCV colored NLM", "model:rgb_share=0.25", " -p rgb_share=0.25"))
    for kind, bm3d, nlm, key, how in speeds if set_name in TIMED_SETS else ():
        f = fig(f"{kind}-gaussian-25")
        model_s, bm3d_s, nlm_s = (get(f, k, "seconds_per_mp") for k in (key, "bm3d", "nlmeans"))
        yield (f"speed, {kind} sigma 25: model{how} s/MP <= {bm3d} s/MP / 30 (same run)", model_s,
               None if bm3d_s is None else bm3d_s / 30, {"unit": "s/MP", "higher": False})
        yield (f"speed, {kind} sigma 25: model{how} s/MP <= {nlm} s/MP (same run)", model_s, nlm_s,
               {"unit": "s/MP", "higher": False})


def main() -> None:
    lines = ["| target | set | before | after | required | result |", "|---|---|---|---|---|---|"]
    worst: dict[str, tuple[float, str]] = {}
    for set_name in sets():
        # "before": the previous bundled models' rows (results/before, made by run.py's earlier
        # release or before.py); speed rows are left out there (another run, another load).
        earlier = {t: m for t, m, _, _ in checks(set_name, RESULTS / "before") if not t.startswith("speed")}
        for target, measured, required, options in checks(set_name):
            text, margin = row(target, set_name, measured, required, before=earlier.get(target), **options)
            lines.append(text)
            if margin is not None and (target not in worst or margin < worst[target][0]):
                worst[target] = (margin, set_name)
    for path in sorted(BUNDLED.glob("*.keras")):
        lines.append(row(f"model file size: {path.name} <= 5 MB", "-", path.stat().st_size / 1e6, 5.0, "MB",
                         higher=False)[0])
    print("\n".join(lines))
    print("\n| target | worst set | its margin |\n|---|---|---|")
    for target, (margin, set_name) in worst.items():
        print(f"| {target} | {set_name} | {margin:+.4g} |")


if __name__ == "__main__":
    main()
