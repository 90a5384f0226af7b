"""``denoisekit train``: train a denoiser from clean images, the noise made on the fly."""

from __future__ import annotations

from pathlib import Path

import click

from ..params import ParamError, split_assignments
from ..training import LOSS_NAMES, SELECT
from ..training.datasets import DataError
from .common import param_option, write_json

CHANNELS = ("gray", "rgb")


@click.command("train")
@click.option("--noise", required=True, help="Corruption to learn to undo (see `denoisekit plugins`).")
@param_option
@click.option("--data", metavar="DIR|default|mnist", default=None,
              help="Clean training images: a folder, 'default' (natural images scikit-image ships) or 'mnist'.")
@click.option("--val-data", type=click.Path(exists=True, file_okay=False), default=None,
              help="Validation images (default: held out from --data).")
@click.option("--arch", default="unet", show_default=True, help="Architecture plugin.")
@click.option("-a", "--arch-param", "arch_params", multiple=True, metavar="KEY=VALUE",
              help="Architecture parameter, repeatable (e.g. -a features=48).")
@click.option("--init", metavar="MODEL", default=None,
              help="Fine-tune: start from this model's architecture and weights (a bundled name or a .keras file).")
@click.option("--channels", type=click.Choice(CHANNELS), default=None,
              help="gray or rgb [default: gray; rgb for --noise grayscale].")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--steps-per-epoch", type=click.IntRange(1), default=200, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True, help="Patches per step.")
@click.option("--patch", type=click.IntRange(8), default=96, show_default=True, help="Patch size in pixels.")
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Initial learning rate (cosine decay to 1% of it).")
@click.option("--loss", type=click.Choice(list(LOSS_NAMES)), default="l1", show_default=True,
              help="Training loss: l1 for photos, l2 for sparse images such as digits, impulse noise and "
                   "colorization; +ssim mixes in 0.84 of (1 - SSIM), the SSIM that `metrics` reports.")
@click.option("--select", type=click.Choice(list(SELECT)), default="psnr", show_default=True,
              help="Validation figure that picks the kept epoch and stops a run that no longer improves.")
@click.option("--patience", type=click.IntRange(1), default=10, show_default=True,
              help="Stop after this many epochs without a better validation figure (--select).")
@click.option("--time-limit", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Train for this long (wall clock, resumed runs included): the learning rate decays "
                   "over the budget and training stops at the last epoch that fits; --epochs only caps it.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed: same seed, same model.")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]), default="default",
              show_default=True, help="tf.distribute strategy: one device, all local GPUs, or TF_CONFIG's cluster.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("model.keras"), show_default=True)
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint beside --out.")
@click.option("--overwrite", is_flag=True, help="Start over even if --out or its checkpoints exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the model's metadata as JSON when done.")
def train_command(noise, params, data, val_data, arch, arch_params, init, channels, epochs, steps_per_epoch, batch,
                  patch, learning_rate, loss, select, patience, time_limit, seed, strategy, out, resume, overwrite,
                  as_json):
    """Train a denoiser for any installed noise model, from clean images only.

    Noise is made on the fly, so every epoch sees fresh noise. Checkpoints, a CSV
    log and the resume state go to OUT's stem + '.ckpt/'; the best model (by
    validation PSNR, or SSIM with --select ssim) goes to --out with its
    metadata, ready for `denoisekit clean`.

    \b
    Examples:
      denoisekit train --noise gaussian -p sigma=0:55 --out gray.keras
      denoisekit train --noise grayscale --channels rgb --out colorize.keras
      denoisekit train --noise gaussian -p sigma=127.5 --data mnist --arch autoencoder --loss l2
      denoisekit train --noise gaussian -p sigma=0:55 --init gaussian-gray --data my_photos/ --lr 1e-4 --out mine.keras
    """
    from ..modelio import ModelLoadError
    from ..training.options import OptionError, make_config
    from ..training.trainer import TrainingError, train

    ctx = click.get_current_context()
    arch_given = ctx.get_parameter_source("arch") is click.core.ParameterSource.COMMANDLINE
    try:
        config = make_config(
            noise, out, params=_assignments(params, "-p"), data=data, val_data=val_data,
            arch=arch if arch_given or init is None else None, arch_params=_assignments(arch_params, "--arch-param"),
            init=init, channels=channels, epochs=epochs, steps_per_epoch=steps_per_epoch, batch=batch, patch=patch,
            learning_rate=learning_rate, loss=loss, select=select, patience=patience, time_limit=time_limit,
            seed=seed, strategy=strategy)
    except OptionError as err:
        raise click.BadParameter(str(err), param_hint=err.option) from None
    try:
        summary = train(config, resume=resume, overwrite=overwrite)
    except (TrainingError, DataError, ModelLoadError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        write_json(summary, "-")
    else:
        val = summary.get("validation", {})
        click.echo(f"saved {summary['model']}: validation PSNR {val.get('psnr', float('nan')):.2f} dB "
                   f"(input {val.get('input_psnr', float('nan')):.2f}), SSIM {val.get('ssim', float('nan')):.4f}")


def _assignments(texts: tuple[str, ...], option: str) -> dict[str, str]:
    """``key=value`` texts as a mapping; one that is not is a usage error of ``option``."""
    try:
        return split_assignments(texts)
    except ParamError as err:
        raise click.BadParameter(str(err), param_hint=option) from None
