"""``denoisekit train``: train a denoiser from clean images, the noise made on the fly."""

from __future__ import annotations

from pathlib import Path

import click

from ..params import ParamError, resolve_params, split_assignments
from ..training import AUGMENTS, LOSS_NAMES, SCHEDULES, SELECT
from ..training.datasets import DataError
from .common import param_option, plugin_with_params, write_json

CHANNELS = {"gray": 1, "rgb": 3}


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
@click.option("--channels", type=click.Choice(list(CHANNELS)), default=None,
              help="gray or rgb [default: gray; rgb for --noise grayscale].")
@click.option("--epochs", type=click.IntRange(1), default=20, show_default=True)
@click.option("--steps-per-epoch", type=click.IntRange(1), default=200, show_default=True)
@click.option("--batch", type=click.IntRange(1), default=16, show_default=True, help="Patches per step.")
@click.option("--patch", type=click.IntRange(8), default=None,
              help="Patch size in pixels [default: 96, or the largest image's side when all are smaller; a "
                   "fixed-size model's own size]. Padded to what the model needs (a U-Net's multiple of 8), "
                   "with the loss on the real pixels only.")
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Initial learning rate.")
@click.option("--schedule", type=click.Choice(list(SCHEDULES)), default=None,
              help="The learning rate over the steps or --time-limit [default: wsd: --lr, then a cosine decay to "
                   "1% of it over the last fifth]; cosine: the decay over the whole run; constant: --lr throughout.")
@click.option("--loss", type=click.Choice(list(LOSS_NAMES)), default=None,
              help="Training loss [default: the architecture's for the noise (l2 for autoencoder, impulse noise "
                   "and colorization), else l2 for images that are mostly one background value (digits, text), "
                   "else l1]; +ssim mixes in 0.84 of (1 - SSIM), the SSIM that `metrics` reports; bce: binary "
                   "cross-entropy, for a sigmoid output.")
@click.option("--augment", type=click.Choice(list(AUGMENTS)), default=None,
              help="Flip or turn patches [default: none for autoencoder and for data whose images fit in one patch "
                   "(digits, glyphs), else dihedral: the 8 flips and rotations].")
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
                  patch, learning_rate, schedule, loss, augment, select, patience, time_limit, seed, strategy, out,
                  resume, overwrite, as_json):
    """Train a denoiser for any installed noise model, from clean images only.

    Noise is made on the fly, so every epoch sees fresh noise. Checkpoints, a CSV
    log and the resume state go to OUT's stem + '.ckpt/'; the best model (by
    validation PSNR, or SSIM with --select ssim) goes to --out with its
    metadata, ready for `denoisekit clean`.

    \b
    Examples:
      denoisekit train --noise gaussian -p sigma=0:55 --out gray.keras
      denoisekit train --noise grayscale --channels rgb --out colorize.keras
      denoisekit train --noise gaussian -p sigma=100 --data digits/ --arch autoencoder --patch 28
      denoisekit train --noise gaussian -p sigma=0:55 --init gaussian-gray --data my_photos/ --lr 1e-4 --out mine.keras
    """
    from ..modelio import ModelLoadError
    from ..training.trainer import TrainConfig, TrainingError, train

    if out.suffix != ".keras":
        raise click.BadParameter("the model file must end in .keras", param_hint="--out")
    _, noise_values = plugin_with_params("corruption", noise, params, "--noise")
    arch_texts: list[str] | dict[str, str] = list(arch_params)
    if init is not None:
        arch, arch_texts, channels = _from_init(init, arch_params, channels)
    arch_reg, _ = plugin_with_params("architecture", arch, (), "--arch")
    channels = channels or ("rgb" if noise == "grayscale" else "gray")
    if noise == "grayscale" and channels != "rgb":
        raise click.BadParameter("colorization (--noise grayscale) needs --channels rgb", param_hint="--channels")
    try:
        given = arch_texts if isinstance(arch_texts, dict) else split_assignments(arch_texts)
        arch_values = resolve_params(arch_reg.params, given, f"architecture {arch!r}")
    except ParamError as err:
        raise click.BadParameter(str(err), param_hint="--arch-param") from None
    # Only what the user gave: the trainer fills the rest with the architecture's defaults for this noise.
    arch_values = {k: v for k, v in arch_values.items() if k in given}
    config = TrainConfig(
        noise=noise, noise_params=noise_values, out=str(out), arch=arch, arch_params=arch_values,
        channels=CHANNELS[channels], data=data, val_data=val_data, epochs=epochs,
        steps_per_epoch=steps_per_epoch, batch=batch, patch=patch, seed=seed,
        learning_rate=learning_rate, schedule=schedule, loss=loss, augment=augment, select=select, patience=patience,
        strategy=strategy, time_limit=time_limit, init=init,
    )
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


def _from_init(init: str, arch_params: tuple[str, ...], channels: str | None) -> tuple[str, dict[str, str], str]:
    """The architecture, its parameters and the channels of the model to fine-tune."""
    from ..modelio import ModelLoadError, peek_metadata

    ctx = click.get_current_context()
    if arch_params or ctx.get_parameter_source("arch") is click.core.ParameterSource.COMMANDLINE:
        raise click.BadParameter("the architecture comes from the model; leave out --arch and -a", param_hint="--init")
    try:  # the metadata only: the trainer loads the weights
        meta = peek_metadata(init)
    except ModelLoadError as err:
        raise click.BadParameter(str(err), param_hint="--init") from None
    if "arch" not in meta or meta.get("channels") not in (1, 3):
        raise click.BadParameter(f"{init}: its metadata does not say its architecture and channels",
                                 param_hint="--init")
    kind = "rgb" if meta["channels"] == 3 else "gray"
    if channels not in (None, kind):
        raise click.BadParameter(f"{init} is a {kind} model; it cannot train on --channels {channels}",
                                 param_hint="--init")
    return str(meta["arch"]), dict(meta.get("arch_params", {})), kind
