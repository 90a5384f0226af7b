"""A training run's options, checked and completed into a ``TrainConfig``: the one place where
``denoisekit train`` and ``denoisekit.train()`` turn what the user gave into a run.

Plugin parameters come as a mapping of values or of the texts ``-p``/``-a`` take
(``{"sigma": (0, 55)}`` or ``{"sigma": "0:55"}``), both parsed by the plugin's declared
parameters. A bad option raises ``OptionError``, a ValueError naming the command-line option.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..params import ParamError, format_value, resolve_params
from ..plugins import PluginError, get_registry
from . import AUGMENTS, LOSS_NAMES, METHODS, SCHEDULES, SELECT, TrainingWarning

if TYPE_CHECKING:  # the trainer imports TensorFlow
    from .trainer import TrainConfig

#: ``channels`` names -> channel counts.
CHANNELS = {"gray": 1, "rgb": 3}


class OptionError(ValueError):
    """A training option that does not fit; ``option`` is its command-line name (for usage errors)."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


def _texts(values: Mapping[str, Any] | None) -> dict[str, str]:
    return {key: format_value(value) for key, value in (values or {}).items()}


def _plugin(kind: str, name: str, values: Mapping[str, Any] | None, option: str, param_option: str):
    try:
        found = get_registry().get(kind, name)
    except PluginError as err:
        raise OptionError(str(err), option) from None
    try:
        return found, resolve_params(found.params, _texts(values), f"{kind} {name!r}")
    except ParamError as err:
        raise OptionError(str(err), param_option) from None


def _at_least(name: str, value: Any, low: float, option: str, integer: bool = True) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low:
        raise OptionError(f"{name} must be {'an integer' if integer else 'a number'} of at least {low:g}, "
                          f"not {value!r}", option)


def _choice(name: str, value: Any, choices: tuple[str, ...] | list[str], option: str) -> None:
    if value not in choices:
        raise OptionError(f"{name} must be one of {', '.join(choices)}, not {value!r}", option)


def from_init(init: str, arch: str | None, arch_params: Mapping[str, Any] | None,
              channels: str | None) -> tuple[str, dict[str, str], str]:
    """The architecture, its parameters and the channels of the model ``init`` fine-tunes."""
    from ..modelio import ModelLoadError, peek_metadata

    try:  # the metadata only: the trainer loads the weights
        meta = peek_metadata(init)
    except ModelLoadError as err:
        raise OptionError(str(err), "--init") from None
    if "arch" not in meta or meta.get("channels") not in (1, 3):
        raise OptionError(f"{init}: its metadata does not say its architecture and channels", "--init")
    if arch is not None and arch != meta["arch"]:
        raise OptionError(f"the architecture comes from the model ({meta['arch']}); leave out --arch", "--init")
    try:
        changeable = getattr(get_registry().get("architecture", str(meta["arch"])).obj, "init_params", ())
    except PluginError as err:
        raise OptionError(str(err), "--init") from None
    fixed = sorted(set(arch_params or {}) - set(changeable))
    if fixed:
        allowed = f"only {', '.join(changeable)}" if changeable else "none of them"
        raise OptionError(f"the architecture comes from the model: -a {', '.join(fixed)} cannot change "
                          f"(with --init, -a may change {allowed})", "--init")
    kind = "rgb" if meta["channels"] == 3 else "gray"
    # A gray model can grow into a colour one (training/warm_start.py); colour cannot shrink.
    if channels not in (None, kind) and not (kind == "gray" and channels == "rgb"):
        raise OptionError(f"{init} is a {kind} model; it cannot train on --channels {channels}", "--init")
    # -a changes some of the model's parameters (those that add inputs: training/warm_start.py).
    return str(meta["arch"]), {**meta.get("arch_params", {}), **(arch_params or {})}, channels or kind


#: ``data`` values that name an embedded set rather than a folder.
NAMED_SETS = (None, "default", "mnist")


def check_sources(noise: str | None, data: str | None, val_data: str | None, pairs: str | None,
                  val_pairs: str | None, self_supervised: str | None) -> None:
    """Where the training noise comes from: the options that do not go together, as ``OptionError``s.

    ``noise`` made on the fly needs clean ``data``; ``pairs`` (noisy images matching the clean
    ``data``) take ``noise`` on top or none; ``self_supervised`` (a method of ``METHODS``)
    learns from noisy ``data`` alone. ``val_pairs`` with ``val_data`` is a held-out pair folder.
    """
    if pairs is not None and self_supervised is not None:
        raise OptionError("--pairs and --self-supervised exclude each other (pairs train a supervised model)",
                          "--pairs")
    if self_supervised is not None:
        _choice("method", self_supervised, METHODS, "--method")
        if noise is not None:
            raise OptionError("--self-supervised learns from the noise already in --data; leave out --noise",
                              "--noise")
        if data in NAMED_SETS:
            raise OptionError("--self-supervised needs --data NOISY_DIR, a folder of noisy images", "--data")
    elif pairs is not None:
        if data in NAMED_SETS:
            raise OptionError("--pairs needs --data CLEAN_DIR, the folder of the clean images", "--data")
        if val_data is not None and val_pairs is None:
            raise OptionError("--val-data with --pairs needs --val-pairs, the noisy images of those clean ones",
                              "--val-pairs")
    else:
        if noise is None:
            raise OptionError("is required (or --pairs NOISY_DIR, or --self-supervised)", "--noise")
        if val_pairs is not None:
            raise OptionError("--val-pairs goes with --pairs or --self-supervised", "--val-pairs")
    if val_pairs is not None and val_data is None:
        raise OptionError("--val-pairs needs --val-data, the clean images of those noisy ones", "--val-data")


def warn_of_shared_folders(data: str | None, val_data: str | None, pairs: str | None,
                           val_pairs: str | None) -> None:
    """A ``TrainingWarning`` when validation is the training folder, or the noisy pairs the clean data."""
    if _same_folder(val_data, data) or _same_folder(val_pairs, pairs):
        warnings.warn("the validation images are the training images: their figures will flatter the model and "
                      "cannot pick its epoch (leave out --val-data to hold some out)", TrainingWarning, stacklevel=2)
    if pairs is not None and _same_folder(pairs, data):
        warnings.warn("--pairs is the --data folder: each noisy image is its clean one, there is no noise to learn",
                      TrainingWarning, stacklevel=2)


def _same_folder(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a not in NAMED_SETS and Path(a).is_dir() and Path(b).is_dir() \
        and Path(a).resolve() == Path(b).resolve()


def make_config(noise: str | None, out: str | Path = "model.keras", *, params: Mapping[str, Any] | None = None,
                data: str | None = None, val_data: str | None = None, pairs: str | None = None,
                val_pairs: str | None = None, self_supervised: str | None = None, arch: str | None = None,
                arch_params: Mapping[str, Any] | None = None, init: str | None = None,
                channels: str | None = None, epochs: int = 20, steps_per_epoch: int = 200, batch: int = 16,
                patch: int | None = None, learning_rate: float = 1e-3, schedule: str | None = None,
                loss: str | None = None, augment: str | None = None, select: str = "psnr",
                patience: int = 10, time_limit: float | None = None, seed: int = 0,
                strategy: str = "default") -> TrainConfig:
    """The run these options describe. ``arch`` None: ``unet``, or the architecture of ``init``;
    ``channels`` None: gray, rgb for ``noise="grayscale"`` (colorization), or those of ``init``.
    ``noise`` None: the noise of ``pairs`` alone, or ``self_supervised`` (see :func:`check_sources`).
    ``patch``, ``loss``, ``augment``, ``schedule`` and the architecture parameters not given: the
    recipe's for the architecture, the noise and the data (training/recipe.py), chosen by the
    trainer once it has read the data."""
    from .trainer import STRATEGIES, TrainConfig

    if Path(out).suffix != ".keras":
        raise OptionError("the model file must end in .keras", "--out")
    data, val_data, pairs, val_pairs = (None if v is None else str(v) for v in (data, val_data, pairs, val_pairs))
    check_sources(noise, data, val_data, pairs, val_pairs, self_supervised)
    if noise is None and params:
        raise OptionError("noise parameters need --noise", "-p")
    noise_values = _plugin("corruption", noise, params, "--noise", "-p")[1] if noise is not None else {}
    if channels is not None:
        _choice("channels", channels, list(CHANNELS), "--channels")
    arch_given: dict[str, Any] = dict(arch_params or {})
    if init is not None:
        arch, arch_given, channels = from_init(str(init), arch, arch_params, channels)
    arch = arch or "unet"
    channels = channels or ("rgb" if noise == "grayscale" else "gray")
    if noise == "grayscale" and channels != "rgb":
        raise OptionError("colorization (--noise grayscale) needs --channels rgb", "--channels")
    try:
        arch_found = get_registry().get("architecture", arch)
    except PluginError as err:
        raise OptionError(str(err), "--arch") from None
    if init is None and noise == "grayscale" and any(p.name == "head" for p in arch_found.params) \
            and "head" not in arch_given:
        arch_given["head"] = "chroma"  # colorize by predicting chroma from luminance
    _, arch_values = _plugin("architecture", arch, arch_given, "--arch", "--arch-param")
    # Only what was given (or comes with init): the trainer fills the rest with the architecture's
    # training defaults for this noise, then its declared defaults (recipe.resolve_arch_params).
    arch_values = {k: v for k, v in arch_values.items() if k in arch_given}
    for name, value, low, option in (("epochs", epochs, 1, "--epochs"),
                                     ("steps_per_epoch", steps_per_epoch, 1, "--steps-per-epoch"),
                                     ("batch", batch, 1, "--batch"), ("patience", patience, 1, "--patience")):
        _at_least(name, value, low, option)
    if patch is not None:
        _at_least("patch", patch, 8, "--patch")
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise OptionError(f"learning_rate must be a number above 0, not {learning_rate!r}", "--lr")
    if time_limit is not None:
        _at_least("time_limit", time_limit, 1, "--time-limit", integer=False)
    if loss is not None:
        _choice("loss", loss, LOSS_NAMES, "--loss")
    if augment is not None:
        _choice("augment", augment, AUGMENTS, "--augment")
    if schedule is not None:
        _choice("schedule", schedule, SCHEDULES, "--schedule")
    _choice("select", select, SELECT, "--select")
    if self_supervised is not None and loss is not None:
        raise OptionError("self-supervised methods bring their own loss (L2)", "--loss")
    if self_supervised is not None and val_pairs is None and select != "psnr":
        raise OptionError("--select needs clean validation images (val_data with val_pairs); without them "
                          "the held-out self-supervised loss picks the epoch", "--select")
    _choice("strategy", strategy, STRATEGIES, "--strategy")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise OptionError(f"seed must be an integer, not {seed!r}", "--seed")
    return TrainConfig(
        noise=noise, noise_params=noise_values, out=str(out), arch=arch, arch_params=arch_values,
        channels=CHANNELS[channels], data=data, val_data=val_data, pairs=pairs, val_pairs=val_pairs,
        self_supervised=self_supervised, epochs=epochs, steps_per_epoch=steps_per_epoch,
        batch=batch, patch=patch, seed=seed, learning_rate=float(learning_rate), schedule=schedule, loss=loss,
        augment=augment, select=select,
        patience=patience, strategy=strategy, time_limit=None if time_limit is None else float(time_limit),
        init=None if init is None else str(init),
    )
