"""``denoisekit metrics``: score a folder of results against references."""

from __future__ import annotations

from pathlib import Path

import click

from ..files import AmbiguousReference
from ..folders import score_folders
from .common import echo_table, write_json


#: How a JSON file this command wrote begins (a rerun may replace it).
METRICS_HEAD = '{\n  "files":'


def _begins_with(path: Path, text: str) -> bool:
    with open(path, encoding="utf-8", errors="replace") as file:
        return file.read(len(text)) == text


@click.command("metrics")
@click.argument("reference", metavar="REF", type=click.Path(exists=True, path_type=Path))
@click.argument("test", metavar="TEST", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "json_file", type=click.Path(path_type=Path, allow_dash=True),
              help="Also write per-file and mean figures as JSON to FILE ('-' for stdout).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --json FILE that is not an earlier one of these.")
def metrics_command(reference: Path, test: Path, json_file: Path | None, overwrite: bool) -> None:
    """PSNR/SSIM of each image in TEST against REF (matched by relative path and stem), and the mean.

    The mean PSNR leaves out identical pairs (infinite dB; null in JSON); the mean SSIM and the
    count include them."""
    if json_file is not None and str(json_file) != "-":
        if json_file.is_dir():
            raise click.BadParameter(f"{json_file} is a folder", param_hint="--json")
        if json_file.exists() and not overwrite and not _begins_with(json_file, METRICS_HEAD):
            raise click.BadParameter(f"{json_file} exists: choose another file or pass --overwrite", param_hint="--json")
    try:
        rows, summary, errors = score_folders(reference, test)
    except AmbiguousReference as err:
        raise click.BadParameter(str(err), param_hint="REF") from None
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
