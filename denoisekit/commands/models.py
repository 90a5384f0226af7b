"""``denoisekit models``: the bundled models (or any .keras files) and their metadata."""

from __future__ import annotations

from pathlib import Path

import click

from .common import echo_table, write_json


@click.command("models")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full metadata as JSON.")
def models_command(files: tuple[Path, ...], as_json: bool) -> None:
    """List the bundled models with their metadata and validation figures, and
    which of them `clean --model TASK` runs on gray and on RGB images.

    With FILES, describe those .keras files (made by `denoisekit train`) instead.
    """
    from ..modelio import ModelLoadError, bundled_models, load_denoiser, noise_of  # starts TensorFlow: only here

    specs = [str(f) for f in files] or list(bundled_models())
    entries = []
    for spec in specs:
        try:
            denoiser = load_denoiser(spec)
        except ModelLoadError as err:
            raise click.ClickException(str(err)) from None
        entries.append({"name": spec, "file": str(denoiser.path),
                        "size_mb": round(denoiser.path.stat().st_size / 1e6, 2), **denoiser.metadata})
    if as_json:
        write_json(entries, "-")
        return
    if not entries:
        click.echo("no bundled models installed", err=True)
        return
    rows = []
    for e in entries:
        val = e.get("validation", {})
        rows.append([e["name"], e.get("arch"), "rgb" if e.get("channels") == 3 else "gray",
                     noise_of(e), val.get("input_psnr"), val.get("psnr"),
                     val.get("ssim"), e.get("epochs"), e.get("total_wall_seconds", e.get("wall_seconds")), e["size_mb"]])
    echo_table(["model", "arch", "channels", "trained on", "val input dB", "val dB", "val SSIM",
                "epochs", "train s", "MB"], rows)
    if not files:
        from ..inference import task_routes

        click.echo("\nWhat `clean --model TASK` runs (default: gaussian):")
        echo_table(["task", "gray images", "RGB images"], [list(route) for route in task_routes()])
