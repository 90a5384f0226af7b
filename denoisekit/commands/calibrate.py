"""``denoisekit calibrate``: fit a colorizer's colour calibration on colour photographs."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("calibrate")
@click.argument("model", metavar="MODEL")
@click.argument("photos", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path), metavar="PHOTOS...")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="The calibrated copy of MODEL (.keras).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def calibrate_command(model: str, photos: tuple[Path, ...], out: Path, overwrite: bool, as_json: bool) -> None:
    """Fit colorization MODEL's colour calibration on the colour images in PHOTOS (files or
    folders) and write MODEL with it to --out.

    Each photo is made gray and colourised; the least-squares map from the predicted to the
    true colour is stored in the model file, and `clean` corrects every colorization by it
    (`-p chroma_map=false` leaves it out). `train` fits one on its validation images for each
    colorizer it makes: calibrate one made before, or one meant for your own kind of photos.

    \b
    Examples:
      denoisekit calibrate old-colorizer.keras held-out-photos/ --out colorizer.keras
      denoisekit calibrate colorize-color my-photos/ --out my-colorize.keras
    """
    from ..colour_calibration import calibrate_colorizer
    from ..images import ImageReadError
    from ..modelio import ModelLoadError

    if out.suffix != ".keras":
        raise click.BadParameter(f"{out} must end in .keras", param_hint="--out")
    if out.exists() and not overwrite:  # before the model loads and the photos are colorized
        raise click.ClickException(f"{out} exists; pass --overwrite to replace it")
    try:
        chroma_map = calibrate_colorizer(model, photos, out, overwrite=overwrite)
    except ModelLoadError as err:
        raise click.BadParameter(str(err), param_hint="MODEL") from None
    except (ValueError, ImageReadError) as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps({"model": model, "out": str(out), "chroma_map": chroma_map}))
    else:
        rows = ("red chroma", "blue chroma", "1")
        click.echo("chroma map (corrected red, blue from the predicted):")
        for name, row in zip(rows, chroma_map):
            click.echo(f"  {name:12s} {row[0]:+.4f} {row[1]:+.4f}")
        click.echo(f"wrote {out}")
