"""``denoisekit metrics``: score a folder of results against references."""

from __future__ import annotations

from pathlib import Path

import click

from ..files import collect_inputs, match_references
from ..images import ImageReadError, read_image
from ..metrics import mean, psnr, ssim
from ..reports.stack_scores import compare_stacks
from ..stacks import TiffStack, is_stack
from .common import echo_table, write_json


def score_pair(ref_path: Path, test_path: Path) -> dict[str, float]:
    """PSNR/SSIM of one test image against its reference (alpha ignored); of TIFF stacks, the
    means over their pages (each page on the data's range: docs/scientific.md)."""
    if is_stack(ref_path) or is_stack(test_path):
        with TiffStack(ref_path) as ref_stack, TiffStack(test_path) as test_stack:
            pages = compare_stacks(ref_stack, test_stack)
        psnr_mean = mean(p["psnr"] for p in pages)  # None: every page identical to its reference
        return {"psnr": float("inf") if psnr_mean is None else psnr_mean, "ssim": mean(p["ssim"] for p in pages)}
    ref, test = read_image(ref_path), read_image(test_path)
    if ref.pixels.shape != test.pixels.shape:
        raise ValueError(f"{test_path}: size/channels {test.pixels.shape} differ from reference {ref.pixels.shape}")
    return {"psnr": psnr(ref.pixels, test.pixels), "ssim": ssim(ref.pixels, test.pixels)}


@click.command("metrics")
@click.argument("reference", metavar="REF", type=click.Path(exists=True, path_type=Path))
@click.argument("test", metavar="TEST", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_file", type=click.Path(path_type=Path, allow_dash=True),
              help="Also write per-file and mean figures as JSON to FILE ('-' for stdout).")
def metrics_command(reference: Path, test: Path, json_file: Path | None) -> None:
    """PSNR/SSIM of each image in TEST against REF (matched by relative path and stem), and the mean."""
    refs, tests = collect_inputs(reference), collect_inputs(test)
    pairs = match_references(refs, tests)
    rows, errors = [], []
    for rel, ref_rel in pairs.items():
        if ref_rel is None:
            errors.append(f"{rel}: no reference image with that name")
            continue
        try:
            scores = score_pair(refs.source(ref_rel), tests.source(rel))
        except (ImageReadError, ValueError) as err:
            errors.append(str(err))
            continue
        rows.append({"file": rel.as_posix(), **scores})
    summary = {"psnr": mean(r["psnr"] for r in rows), "ssim": mean(r["ssim"] for r in rows), "count": len(rows)}
    if json_file is not None:
        write_json({"files": rows, "mean": summary, "errors": errors}, json_file)
    if str(json_file) != "-":
        echo_table(["file", "PSNR (dB)", "SSIM"], [[r["file"], r["psnr"], r["ssim"]] for r in rows]
                   + [["mean", summary["psnr"], summary["ssim"]]])
    for line in errors:
        click.echo(f"error: {line}", err=True)
    if errors or not rows:
        if not rows and not errors:
            click.echo("error: no images to compare", err=True)
        raise SystemExit(1)
