"""``denoisekit latent``: an autoencoder's latent space, as a scatter of encoded images and a grid decoded across it."""

from __future__ import annotations

from pathlib import Path

import click


#: What ``--out`` may be (matplotlib writes each by its suffix).
PICTURE_SUFFIXES = (".png", ".pdf", ".svg")


@click.command("latent")
@click.argument("model")
@click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The picture to write (.png, .pdf, .svg).")
@click.option("--grid", "steps", type=click.IntRange(2, 40), default=15, show_default=True,
              help="Images per side of the decoded grid.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def latent_command(model: str, data: Path, out: Path, steps: int, overwrite: bool) -> None:
    """Picture MODEL's latent space on the images in DATA.

    MODEL is an autoencoder made by `denoisekit train --arch autoencoder`. Left: each image of
    DATA encoded, coloured by its label (the name of its first-level subfolder, DATA/3/x.png);
    right: the images the decoder makes across the plane. A 2-number latent is drawn as it is
    (the textbook's pictures), a larger one through its first two principal components.

    \b
    Example:
      denoisekit train --noise gaussian -p sigma=100 --data digits/train --arch autoencoder -a latent=2 --out ae2.keras
      denoisekit latent ae2.keras digits/test --out latent.png
    """
    if out.suffix.lower() not in PICTURE_SUFFIXES:
        raise click.BadParameter(f"{out}: name a .png, .pdf or .svg file", param_hint="--out")
    if out.exists() and not overwrite:
        raise click.BadParameter(f"{out} exists: choose another file or pass --overwrite", param_hint="--out")
    from ..latent import LatentError, latent_map, load_labelled, plot_latent
    from ..modelio import ModelLoadError, load_denoiser

    try:
        denoiser = load_denoiser(model)
        images = load_labelled(data, denoiser.channels, denoiser.fixed_size)
        found = latent_map(denoiser.model, images.pixels, steps)
        plot_latent(found, images.labels, out, title=f"{Path(model).name} on {data}")
    except (ModelLoadError, LatentError) as err:
        raise click.ClickException(str(err)) from None
    labels = f", {len(set(images.labels))} labels" if images.labels else ""
    click.echo(f"wrote {out}: {len(images.pixels)} images{labels}, latent of {found.latent} numbers"
               f"{'' if found.latent == 2 else ' (shown on its first two principal components)'}")
