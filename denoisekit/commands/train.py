"""``denoisekit train``: train a denoiser from clean images (the noise made on the fly), from
noisy/clean pairs (``--pairs``), or from noisy images alone (``--self-supervised``)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..params import ParamError, split_assignments
from ..training import AUGMENTS, LOSS_NAMES, METHODS, SCHEDULES, SELECT
from ..training.datasets import DataError
from .common import param_option, write_json

CHANNELS = ("gray", "rgb")


#: Options whose TrainConfig field has another name (the others share theirs).
CONFIG_FIELDS = {"params": "noise_params", "method": "self_supervised"}


@click.command("train")
@click.option("--noise", default=None,
              help="Corruption to learn to undo (see `denoisekit plugins`); optional with --pairs (added on top).")
@param_option
@click.option("--data", metavar="DIR|default|mnist", default=None,
              help="Training images: a folder, 'default' (natural images scikit-image ships) or 'mnist'; "
                   "clean ones, or noisy ones with --self-supervised.")
@click.option("--pairs", type=click.Path(exists=True, file_okay=False), default=None, metavar="NOISY_DIR",
              help="Noisy images of --data's clean ones, matched by relative name (any image suffix).")
@click.option("--self-supervised", "self_supervised", is_flag=True,
              help="Learn from the noisy images of --data alone (no clean images, no --noise).")
@click.option("--method", type=click.Choice(list(METHODS)), default=None,
              help=f"Self-supervised method [default: {METHODS[0]}]: neighbour sub-images (Neighbor2Neighbor) "
                   "or blind-spot masking (Noise2Void).")
@click.option("--val-data", type=click.Path(exists=True, file_okay=False), default=None,
              help="Validation images, of the same kind as --data (default: held out from --data); "
                   "with --val-pairs, the clean ones.")
@click.option("--val-pairs", type=click.Path(exists=True, file_okay=False), default=None, metavar="NOISY_DIR",
              help="Noisy images of --val-data's clean ones (with --pairs or --self-supervised).")
@click.option("--arch", default="unet", show_default=True, help="Architecture plugin.")
@click.option("-a", "--arch-param", "arch_params", multiple=True, metavar="KEY=VALUE",
              help="Architecture parameter, repeatable (e.g. -a features=48).")
@click.option("--init", metavar="MODEL", default=None,
              help="Fine-tune: start from this model's architecture and weights (a bundled name or a .keras file); "
                   "a gray model with --channels rgb grows into a colour one.")
@click.option("--channels", type=click.Choice(CHANNELS), default=None,
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
                   "else l1]; psnr: minus each image's PSNR, so each counts by its own error (a light noise level as "
                   "much as a heavy one); +ssim mixes in 0.84 of (1 - SSIM), the SSIM that `metrics` reports; bce: "
                   "binary cross-entropy, for a sigmoid output.")
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
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint beside --out, as the run started: "
              "only --epochs, --steps-per-epoch and --time-limit may change (other options may be repeated).")
@click.option("--overwrite", is_flag=True, help="Start over even if --out or its checkpoints exist.")
@click.option("--json", "as_json", is_flag=True, help="Print the model's metadata as JSON when done.")
def train_command(noise, params, data, pairs, self_supervised, method, val_data, val_pairs, arch, arch_params, init,
                  channels, epochs, steps_per_epoch, batch, patch, learning_rate, schedule, loss, augment, select,
                  patience, time_limit, seed, strategy, out, resume, overwrite, as_json):
    """Train a denoiser: from clean images with any installed noise model made on
    the fly (every epoch sees fresh noise), from noisy/clean pairs (--pairs, with
    --noise on top or not), or from noisy images alone (--self-supervised).

    Checkpoints, a CSV log and the resume state go to OUT's stem + '.ckpt/'; the
    best model (by validation PSNR, or SSIM with --select ssim; without clean
    validation images, by the self-supervised loss on held-out noisy images) goes
    to --out with its metadata, ready for `denoisekit clean`.

    \b
    Examples:
      denoisekit train --noise gaussian -p sigma=0:55 --out gray.keras
      denoisekit train --noise grayscale --channels rgb --out colorize.keras
      denoisekit train --noise gaussian -p sigma=100 --data digits/ --arch autoencoder --patch 28
      denoisekit train --noise gaussian -p sigma=0:55 --init gaussian-gray --data my_photos/ --lr 1e-4 --out mine.keras
      denoisekit train --data clean/ --pairs noisy/ --out pairs.keras
      denoisekit train --data noisy/ --self-supervised --out n2n.keras
    """
    from ..modelio import ModelLoadError
    from ..training.options import OptionError, make_config
    from ..training.trainer import TrainingError, train

    ctx = click.get_current_context()

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE

    arch_given = given("arch")
    if method is not None and not self_supervised:
        raise click.BadParameter("goes with --self-supervised", param_hint="--method")
    if self_supervised and val_pairs is None and given("select"):
        raise click.BadParameter("needs clean validation images (--val-data with --val-pairs); without them "
                                 "the held-out self-supervised loss picks the epoch", param_hint="--select")
    try:
        config = make_config(
            noise, out, params=_assignments(params, "-p"), data=data, val_data=val_data, pairs=pairs,
            val_pairs=val_pairs, self_supervised=(method or METHODS[0]) if self_supervised else None,
            arch=arch if arch_given or init is None else None, arch_params=_assignments(arch_params, "--arch-param"),
            init=init, channels=channels, epochs=epochs, steps_per_epoch=steps_per_epoch, batch=batch, patch=patch,
            learning_rate=learning_rate, schedule=schedule, loss=loss, augment=augment, select=select,
            patience=patience, time_limit=time_limit, seed=seed, strategy=strategy)
    except OptionError as err:
        raise click.BadParameter(str(err), param_hint=err.option) from None
    state = config.checkpoint_dir / "state.json"  # usage errors before TensorFlow loads
    if resume and not state.exists():
        raise click.BadParameter(f"nothing to resume: {state} does not exist", param_hint="--resume")
    if not (resume or overwrite) and (Path(config.out).exists() or state.exists()):
        raise click.BadParameter(f"{config.out} or its checkpoints exist; use --resume to continue or --overwrite "
                                 f"to start over", param_hint="--out")
    try:
        summary = train(config, resume=resume, overwrite=overwrite,
                        given={CONFIG_FIELDS.get(name, name) for name in ctx.params if given(name)})
    except (TrainingError, DataError, ModelLoadError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        write_json(summary, "-")
        return
    val = summary.get("validation", {})
    if "psnr" not in val and "loss" in val:  # no clean validation images
        click.echo(f"saved {summary['model']}: held-out self-supervised loss {val['loss']:.5f}; estimated noise "
                   f"{val['input_noise']:.2f} in, {val['noise']:.2f} left (0-255)")
    else:
        # None: every image exact (the noise left the validation images as they were), as PSNR's inf.
        psnr, input_psnr, ssim = (math.inf if v is None else v
                                  for v in (val.get(k, math.nan) for k in ("psnr", "input_psnr", "ssim")))
        click.echo(f"saved {summary['model']}: validation PSNR {psnr:.2f} dB (input {input_psnr:.2f}), SSIM {ssim:.4f}")


def _assignments(texts: tuple[str, ...], option: str) -> dict[str, str]:
    """``key=value`` texts as a mapping; one that is not is a usage error of ``option``."""
    try:
        return split_assignments(texts)
    except ParamError as err:
        raise click.BadParameter(str(err), param_hint=option) from None
