"""``denoisekit corrupt``: make noisy test sets from clean images."""

from __future__ import annotations

from pathlib import Path

import click

from ..batch import report_outcome
from ..files import output_path
from ..folders import corrupt_inputs
from ..images import JPEG_SUFFIXES
from ..params import params_to_text
from .common import (check_output_path, collected_inputs, param_option, plugin_with_params, seed_option,
                     write_json)


@click.command("corrupt")
@click.argument("source", metavar="IN", type=click.Path(exists=True, path_type=Path))
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--noise", required=True, help="Corruption plugin name (see `denoisekit plugins`).")
@param_option
@seed_option
@click.option("--recursive/--no-recursive", default=True, show_default=True, help="Descend into subfolders.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done to each file as JSON on stdout.")
def corrupt_command(source: Path, out: Path, noise: str, params: tuple[str, ...], seed: int,
                    recursive: bool, overwrite: bool, as_json: bool) -> None:
    """Corrupt the images in IN (a folder or a file) and write them to OUT.

    The folder structure, format, bit depth, channels and alpha of each image are
    kept; TIFF stacks keep every page (each plane its own noise, on the scale
    clean's --normalize auto gives it). Each image's noise depends only on
    --seed and its relative path.

    Example: denoisekit corrupt clean/ noisy/ --noise gaussian -p sigma=25 --seed 1
    """
    corruption, values = plugin_with_params("corruption", noise, params, "--noise")
    check_output_path(source, out)
    inputs = collected_inputs(source, out, recursive)
    lossy = [rel for rel in inputs.files if output_path(inputs, rel, out).suffix.lower() in JPEG_SUFFIXES]
    if lossy:
        click.echo(f"note: {len(lossy)} JPEG file(s) ({lossy[0]}{', ...' if len(lossy) > 1 else ''}) are written as "
                   f"JPEG, whose compression changes the noise just added (salt-and-pepper's pure black and white "
                   f"included): convert them to PNG first for exact noise", err=True)
    results = corrupt_inputs(inputs, out, corruption.obj, values, seed, overwrite=overwrite,
                             label=f"corrupt ({noise})")
    if as_json:
        write_json({"noise": noise, "params": params_to_text(values), "seed": seed,
                    "files": [{"file": r.rel.as_posix(), "output": str(r.target), "status": r.status, "error": r.error}
                              for r in results],
                    "skipped": [rel.as_posix() for rel in inputs.skipped]}, "-")
    raise SystemExit(report_outcome(results, inputs.skipped))
