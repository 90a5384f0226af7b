"""Train a denoiser: model + patch pipeline + validation + checkpoints, resumable."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .. import __version__
from ..chroma import CHROMA_MAP_KEY, DEFAULT_CHROMA_RADIUS, fit_chroma_map, smooth_chroma
from ..modelio import attach_metadata, load_denoiser, load_keras_model, peek_metadata, read_metadata, update_metadata
from ..noise_ops import shape_changed
from ..params import params_to_text, resolve_params
from ..plugin_guard import build_model, size_multiple
from ..plugins import PluginCallError, architecture, corruption, debugging, describe
from ..tf_setup import tensorflow
from .cluster import prepare_for_cluster, is_chief, mean_across_workers, scratch_dir, synced_logs_callback
from .datasets import drop_gray_images, load_training_set, load_validation_set, split_folder
from .augment import default_augment
from .collapse import GUARD_EPOCH, Collapse, CollapseGuard
from .losses import LOSSES, output_activation
from .options import check_sources, warn_of_shared_folders
from .padding import SizeError, model_input_size, pad_batch, round_up
from .pipeline import patch_dataset, validation_pairs
from .recipe import DEFAULT_LOSS, DEFAULT_SCHEDULE, default_patch, recipe_defaults, resolve_arch_params
from .schedules import RunSchedule, rate_factor
from .self_supervised import NEIGHBOR2NEIGHBOR, SelfSupervised, denoiser_of, size_factor
from .sources import Source, check_patch, make_feed, open_source, source_metadata
from .warm_start import add_channels, grow_channels
from .validation import ValidationCallback, predict_pairs, score

STRATEGIES = ("default", "mirrored", "multi-worker")
VALIDATION_CROP = 256
#: A fine-tuning run (--init) ramps its learning rate up over this many steps: a fresh Adam's
#: first steps move every weight by about the full rate, whatever its gradient, which took a
#: trained salt-and-pepper model from 28.2 to 18.1 dB validation in 3 steps at 3e-4.
FINETUNE_WARMUP_STEPS = 500


class TrainingError(Exception):
    """A training run that cannot start or resume; the message says why."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored in the checkpoint for --resume).

    ``noise`` may be None with ``pairs`` (a folder of noisy images matching ``data``'s clean
    ones) or ``self_supervised`` (a method of training.METHODS; ``data`` is then noisy).
    """

    noise: str | None
    noise_params: dict[str, Any]
    out: str
    arch: str = "unet"
    arch_params: dict[str, Any] = field(default_factory=dict)
    channels: int = 1
    data: str | None = None
    val_data: str | None = None
    epochs: int = 20
    steps_per_epoch: int = 200
    batch: int = 16
    patch: int | None = None  # None: a fixed-size model's own size, else recipe.DEFAULT_PATCH
    seed: int = 0
    learning_rate: float = 1e-3
    patience: int = 10
    strategy: str = "default"
    loss: str | None = None  # None: the architecture's default for the corruption, else L1
    augment: str | None = None  # none|flips|dihedral; None: the architecture's, else the data's
    schedule: str | None = None  # wsd|cosine|constant; None: the architecture's, else wsd
    select: str = "psnr"
    time_limit: float | None = None
    init: str | None = None
    pairs: str | None = None
    val_pairs: str | None = None
    self_supervised: str | None = None

    @property
    def source(self) -> str:
        """Where the noise comes from: ``synthetic`` (made on the fly), ``pairs`` or ``self-supervised``."""
        return "pairs" if self.pairs else "self-supervised" if self.self_supervised else "synthetic"

    @property
    def validated_by_loss(self) -> bool:
        """Self-supervised without clean validation pairs: the held-out loss picks the epoch."""
        return self.self_supervised is not None and self.val_pairs is None

    @property
    def monitor(self) -> str:
        """The validation log entry that picks the kept epoch (``--select``)."""
        return "val_loss" if self.validated_by_loss else f"val_{self.select}"

    @property
    def monitor_mode(self) -> str:
        """Whether the monitored figure is better higher (``max``) or lower (``min``)."""
        return "min" if self.validated_by_loss else "max"

    @property
    def checkpoint_dir(self) -> Path:
        out = Path(self.out)
        return out.with_name(out.stem + ".ckpt")


def make_strategy(name: str) -> Any:
    """default: one device; mirrored: all local GPUs; multi-worker: the cluster in TF_CONFIG."""
    tf = tensorflow()
    if name == "default":
        return tf.distribute.get_strategy()
    import keras

    if keras.backend.backend() != "tensorflow":
        # tf.distribute places TensorFlow variables; under JAX it would silently use one device.
        raise TrainingError(f"--strategy {name} needs Keras' TensorFlow backend "
                            f"(KERAS_BACKEND is {keras.backend.backend()!r})")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise TrainingError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")


def data_fingerprint(names: list[str]) -> str:
    """A short hash of what a run's data is (its files' relative names, in order)."""
    import hashlib

    return hashlib.sha1("\n".join(names).encode("utf-8")).hexdigest()[:16]


class _StateWriter:
    """Records progress beside the checkpoints after each epoch, for --resume."""

    def __init__(self, path: Path, config: TrainConfig, wall_before: float, fingerprint: str | None = None) -> None:
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                outer.write(epoch + 1, logs or {})

        self.callback = Callback()
        self.path, self.config, self.start, self.wall_before = path, config, time.time(), wall_before
        self.fingerprint = fingerprint  # of the data's file names (data_fingerprint)
        self.init_scores: dict[str, float] | None = None  # a fine-tuning's --init model on validation
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.extras: Callable[[], dict[str, Any]] = dict

    def write(self, epochs_done: int, logs: dict) -> None:
        val = logs.get(self.config.monitor)
        lower = self.config.monitor_mode == "min"
        if val is not None and (self.best is None or (val < self.best if lower else val > self.best)):
            self.best, self.best_epoch = val, epochs_done
        state = {"epochs_done": epochs_done, "best_val": self.best, "best_epoch": self.best_epoch,
                 "wall_seconds": self.elapsed(), "config": asdict(self.config),
                 "data_fingerprint": self.fingerprint, "init_scores": self.init_scores, **self.extras()}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=list))
        os.replace(tmp, self.path)

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, resumed runs included."""
        return self.wall_before + time.time() - self.start


class _TimeBudget:
    """Fits a run into a wall-clock budget: the learning rate follows its schedule over the budget
    (set at each epoch start, from the time spent so far) and training stops at the last epoch
    that ends inside it. ``--epochs`` then only caps the run."""

    def __init__(self, limit: float, learning_rate: float, elapsed: Callable[[], float], strategy: Any = None,
                 schedule: str = "cosine") -> None:
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                try:
                    self.model.optimizer.learning_rate = outer.learning_rate()
                except TypeError:
                    pass  # a run started without a budget keeps its step-based schedule on resume
                outer.epoch_start = time.time()

            def on_epoch_end(self, epoch, logs=None):
                outer.longest_epoch = max(outer.longest_epoch, time.time() - outer.epoch_start)
                over = outer.elapsed() + outer.longest_epoch > outer.limit
                # every worker of a cluster stops at the same epoch, or the others wait forever
                if mean_across_workers(outer.strategy, float(over)) > 0:
                    self.model.stop_training = True

        self.callback = Callback()
        self.limit, self.lr0, self.strategy, self.schedule = limit, learning_rate, strategy, schedule
        # one clock for the cluster (the workers' mean), so every worker sets the same rate
        self.elapsed = lambda: mean_across_workers(strategy, elapsed())
        self.epoch_start, self.longest_epoch = time.time(), 0.0

    def learning_rate(self) -> float:
        done = min(1.0, self.elapsed() / self.limit)
        return self.lr0 * float(rate_factor(self.schedule, done))


class _Warmup:
    """Ramps a time-budgeted run's learning rate linearly up to the budget's value over its first
    steps (the un-budgeted schedule has this built in, RunSchedule's warmup)."""

    def __init__(self, steps: int) -> None:
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                outer.target = float(self.model.optimizer.learning_rate)  # as _TimeBudget set it

            def on_train_batch_begin(self, batch, logs=None):
                if outer.done <= steps:  # a Python counter: no device sync per step
                    outer.done += 1
                    self.model.optimizer.learning_rate = outer.target * min(1.0, outer.done / steps)

        self.callback = Callback()
        self.done, self.target = 0, 0.0


@contextmanager
def _training_feed_guard(noise: Any):
    """A plugin's exception inside tf.data becomes one line naming the plugin (TensorFlow wraps
    it in a multi-line trace whose last line is the plugin's own message)."""
    try:
        yield
    except Exception as err:
        if debugging() or isinstance(err, PluginCallError):
            raise
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        raise PluginCallError(f"{describe('corruption', noise)} failed in the training feed: "
                              f"{lines[-1] if lines else type(err).__name__}") from None


def _epoch_checkpoint(path: str, **kwargs: Any) -> Any:
    """Keras's ModelCheckpoint, saving at epoch ends, marked safe for asynchronous batch hooks.

    A callback with its own ``on_train_batch_end`` makes Keras fetch every step's loss from the
    device before the next step starts (on JAX, which could otherwise queue steps ahead);
    ModelCheckpoint has one, a no-op when it saves per epoch.
    """
    import keras

    checkpoint = keras.callbacks.ModelCheckpoint(path, save_freq="epoch", **kwargs)
    checkpoint.async_safe = True
    return checkpoint


def _settle_recipe(config: TrainConfig, defaults: dict[str, Any], model: Any, images: list[Any], multiple: int,
                   fixed_size: tuple[int, int] | None) -> tuple[TrainConfig, tuple[int, int]]:
    """The run's patch, augmentation and loss where the user left them open (recipe.py), and the
    size each patch is padded to for the model; a patch or loss the model cannot train on is a
    TrainingError that says what works. ``images``: the clean training images (of pairs, the
    clean ones), or the noisy ones of a self-supervised run, whose methods bring their own loss (L2)."""
    shapes = [im.shape for im in images]
    patch = config.patch or default_patch(fixed_size, shapes)
    if config.patch is None and config.self_supervised == NEIGHBOR2NEIGHBOR and fixed_size is None:
        patch = round_up(patch, size_factor(NEIGHBOR2NEIGHBOR) * multiple)  # its half-size sub-images need no padding
    try:
        input_size = model_input_size(patch, multiple, fixed_size, config.arch)
    except SizeError as err:
        raise TrainingError(str(err)) from None
    # The user's choice, else the architecture's for this noise, else what suits the data.
    augment = config.augment or defaults.get("augment") or default_augment(shapes, patch)
    if config.self_supervised:
        loss = "l2"  # the methods' own (source_metadata says so too)
    else:
        loss = config.loss or defaults.get("loss") or DEFAULT_LOSS
    schedule = config.schedule or defaults.get("schedule") or DEFAULT_SCHEDULE
    if loss == "bce" and output_activation(model) != "sigmoid":
        raise TrainingError(f"--loss bce needs outputs in [0, 1] from a sigmoid; the {config.arch} model's output "
                            f"is {output_activation(model) or 'not bounded'}: use --loss l2 or l1")
    return replace(config, patch=patch, augment=augment, loss=loss, schedule=schedule), input_size


def _smoothed_colorizations(pairs: list[tuple[np.ndarray, np.ndarray]], outputs: list[np.ndarray]):
    """(luma, colorization smoothed as ``clean`` smooths it, true colour) per validation image."""
    for (gray, clean), out in zip(pairs, outputs):
        luma = np.ascontiguousarray(gray[..., :1])
        yield luma, smooth_chroma(luma, out.copy(), DEFAULT_CHROMA_RADIUS), clean


def describe_run(config: TrainConfig, input_size: tuple[int, int]) -> str:
    """One line on what the run trains with, defaults included (for stderr)."""
    params = ", ".join(f"{k}={v}" for k, v in params_to_text(config.arch_params).items())
    padded = "" if input_size == (config.patch, config.patch) else \
        f" padded to {input_size[0]}x{input_size[1]} (loss on the real pixels)"
    return (f"training {config.arch} ({params}) on {config.patch}x{config.patch} patches{padded}, "
            f"loss {config.loss}, augment {config.augment}, batch {config.batch}, "
            f"lr {config.learning_rate:g} ({config.schedule})")


def _refuse_changes(config: TrainConfig, stored: TrainConfig, given: Iterable[str] | None) -> None:
    """TrainingError naming each of ``given`` (all fields when None; names that are not fields
    are ignored) whose value ``config`` changes from the run being resumed, ``RESUMABLE_FIELDS``
    aside."""
    def plain(value: Any) -> Any:  # as state.json stores it: tuples as lists
        return json.loads(json.dumps(value, default=str))

    def differs(mine: Any, theirs: Any) -> bool:  # parameters: those given (the run's has its defaults filled in)
        if isinstance(mine, dict) and isinstance(theirs, dict):
            return any(key not in theirs or differs(value, theirs[key]) for key, value in mine.items())
        return mine != theirs

    chosen = None if given is None else set(given)
    names = [f.name for f in fields(TrainConfig) if chosen is None or f.name in chosen]
    changed = [f"{name}={plain(getattr(config, name))} (the run: {plain(getattr(stored, name))})" for name in names
               if name not in RESUMABLE_FIELDS and getattr(config, name) is not None  # None: the recipe's choice
               and differs(plain(getattr(config, name)), plain(getattr(stored, name)))]
    if changed:
        raise TrainingError(f"--resume continues a run as it started, but {'; '.join(changed)}: leave those out, "
                            f"or start a new run with --overwrite")


def read_state(config: TrainConfig) -> dict[str, Any]:
    path = config.checkpoint_dir / "state.json"
    if not path.exists():
        raise TrainingError(f"nothing to resume: {path} does not exist")
    return json.loads(path.read_text())


#: What a resumed run may change: how long it goes on.
RESUMABLE_FIELDS = ("out", "epochs", "steps_per_epoch", "time_limit")


def train(config: TrainConfig, resume: bool = False, overwrite: bool = False, verbose: int | None = None,
          given: Iterable[str] | None = None) -> dict[str, Any]:
    """Run (or resume) training; write the best model with its metadata to ``config.out``.

    A resumed run continues as it started: only ``RESUMABLE_FIELDS`` may differ from its
    checkpoint's config; any other of the ``given`` fields (the caller's explicit choices; None:
    all of them) that differs is a TrainingError rather than silently ignored."""
    tf = tensorflow()
    import keras

    ckpt = config.checkpoint_dir
    state: dict[str, Any] = {}
    if resume:
        state = read_state(config)
        saved = dict(state["config"])
        for name in ("noise_params", "arch_params"):  # JSON gave ranges back as lists; the plugins take tuples
            saved[name] = {k: tuple(v) if isinstance(v, list) else v for k, v in (saved.get(name) or {}).items()}
        stored = TrainConfig(**{**saved, "epochs": config.epochs, "steps_per_epoch": config.steps_per_epoch,
                                "time_limit": config.time_limit or saved.get("time_limit")})
        if "augment" not in state["config"]:  # what every run did before --augment and --schedule
            stored.augment, stored.schedule = "dihedral", "cosine"
        _refuse_changes(config, stored, given)
        config = stored
    elif not overwrite and (Path(config.out).exists() or (ckpt / "state.json").exists()):
        raise TrainingError(f"{config.out} or its checkpoints exist; use --resume to continue or --overwrite to start over")

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    noise = corruption(config.noise).obj if config.noise is not None else None
    arch_obj = architecture(config.arch).obj

    # A fine-tuned model's training time counts the runs it grew from (read without building it:
    # a resumed run takes its weights from the checkpoint).
    source_meta = peek_metadata(config.init) if config.init else {}
    prior_seconds = source_meta.get("total_wall_seconds", source_meta.get("wall_seconds", 0.0))

    check_sources(config.noise, config.data, config.val_data, config.pairs, config.val_pairs, config.self_supervised)
    warn_of_shared_folders(config.data, config.val_data, config.pairs, config.val_pairs)
    source: Source | None = None  # clean images, noise made here; else pairs or noisy images (sources.py)
    if config.source != "synthetic":
        source = open_source(config)
        descriptions = source.description, source.val_description
    else:
        train_set = load_training_set(config.data, config.channels)
        if config.data not in (None, "default", "mnist") and config.val_data is None:
            train_set, val_set = split_folder(train_set)
        else:
            val_set = load_validation_set(config.data, config.val_data, config.channels)
        if config.noise == "grayscale":  # a gray image neither teaches nor scores colour
            train_set = drop_gray_images(train_set, "training")
            val_set = drop_gray_images(val_set)
        descriptions = train_set.description, val_set.description

    # Which files the run trains and validates on: a resumed run must see the same (an image added
    # to the folder moves the held-out split, and epochs would be picked on two validation sets).
    fingerprint = data_fingerprint([*train_set.names, "|", *val_set.names] if source is None
                                   else [source.description, source.val_description])
    if resume and state.get("data_fingerprint") not in (None, fingerprint):
        raise TrainingError(f"--resume continues a run on the images it started with, but the files of "
                            f"{config.data or 'the data'} changed since (added, removed or renamed): restore them, "
                            f"or start over with --overwrite")
    if source is None:
        recipe_images = train_set.images
    else:
        recipe_images = source.pairs.clean if source.pairs is not None else source.noisy
    defaults = recipe_defaults(arch_obj, config.noise, recipe_images)
    # The parameters of the model fine-tuned (stored as text in its metadata), as values.
    source_given = (resolve_params(arch_obj.params, source_meta.get("arch_params", {}), config.arch)
                    if config.init else {})
    given = config.arch_params or source_given  # from Python, --init alone: the model's own parameters
    config = replace(config, arch_params=resolve_arch_params(arch_obj, given, defaults))
    multiple = size_multiple(arch_obj, **config.arch_params)

    strategy = make_strategy(config.strategy)
    chief = is_chief(strategy)
    with strategy.scope():
        if resume:
            model = load_keras_model(ckpt / "last.keras", compile=True)
        elif config.init:  # fine-tune: the architecture and weights of an existing model
            source_model = load_denoiser(config.init).model
            source_params = resolve_arch_params(arch_obj, source_given, defaults)
            if source_meta.get("channels", config.channels) != config.channels:  # gray grown to colour
                model = build_model(arch_obj, config.channels, **config.arch_params)
                grow_channels(source_model, model, config.channels)
                model = attach_metadata(model, {})
            elif source_params != config.arch_params:  # -a gave it more inputs (an impulse mask) or channels
                model = build_model(arch_obj, config.channels, **config.arch_params)
                add_channels(source_model, model)
                model = attach_metadata(model, {})
            else:
                model = attach_metadata(source_model, {})
        else:
            model = attach_metadata(build_model(arch_obj, config.channels, **config.arch_params), {})
        denoiser = denoiser_of(model)  # a resumed self-supervised run loads its training wrapper
        fixed_size = denoiser.input_shape[1:3]
        fixed_size = None if None in fixed_size else tuple(int(v) for v in fixed_size)
        config, input_size = _settle_recipe(config, defaults, denoiser, recipe_images, multiple, fixed_size)
        if resume:
            if not config.self_supervised:  # the wrapper's loss is its own
                # The loss as this version computes it (masked); the optimizer keeps its state.
                model.compile(optimizer=model.optimizer, loss=LOSSES[config.loss])
        else:
            warmup = FINETUNE_WARMUP_STEPS if config.init else 0
            if config.time_limit:
                schedule = config.learning_rate  # set each epoch by _TimeBudget, ramped by _Warmup
            else:
                schedule = RunSchedule(config.learning_rate, config.epochs * config.steps_per_epoch,
                                       config.schedule, warmup)
            if config.self_supervised:  # trained through a wrapper whose loss sees the input; saved plain
                model = SelfSupervised(model, config.self_supervised, name="self_supervised")
            model.compile(optimizer=keras.optimizers.Adam(schedule),
                          loss=None if config.self_supervised else LOSSES[config.loss])
        if not model.optimizer.built:
            # Built now, not inside the first step: variables made while the step is traced make
            # TensorFlow trace it a second time (about 1.3 s of a small run on 2 cores).
            model.optimizer.build(model.trainable_variables)

    metadata = {
        "denoisekit_version": __version__,
        "arch": config.arch,
        "arch_params": params_to_text(config.arch_params),
        "channels": config.channels,
        "corruption": config.noise,  # None: the noise of --pairs or of the data itself
        "corruption_params": params_to_text(config.noise_params),
        "patch": config.patch,
        "patch_padded_to": list(input_size) if input_size != (config.patch, config.patch) else None,
        "size_multiple": multiple,
        "input_bits": 8,
        "seed": config.seed,
        "batch": config.batch,
        "loss": config.loss,
        "augment": config.augment,
        "schedule": config.schedule,
        "select": config.select,
        "time_limit": config.time_limit,
        "init": config.init,
        "steps_per_epoch": config.steps_per_epoch,
        "data": descriptions[0],
        "validation_data": descriptions[1],
        **(source_metadata(source, config) if source else {}),
    }
    update_metadata(denoiser, **metadata)

    # A broken corruption plugin costs seconds and leaves nothing behind: the feed is built
    # (tf.data traces the plugin then) and one batch made before any file is written.
    feed = None
    if source is not None:
        check_patch(config, multiple, fixed_size)
        with _training_feed_guard(noise) if noise is not None else nullcontext():
            feed = make_feed(source, config, noise, size=VALIDATION_CROP, multiple=multiple, fixed_size=fixed_size)
            noisy, target = next(iter(feed.dataset.take(1)))
        dataset, pairs = feed.dataset, feed.pairs
    else:
        with _training_feed_guard(noise):
            dataset = patch_dataset(train_set.images, noise, config.noise_params, patch=config.patch,
                                    batch=config.batch, seed=config.seed, augment=config.augment)
            noisy, target = next(iter(dataset.take(1)))
        pairs = validation_pairs(val_set.images, noise, config.noise_params, size=VALIDATION_CROP,
                                 seed=config.seed + 7, fixed_size=fixed_size)
    if source is None or source.pairs is not None:  # a supervised target: the clean patch and its mask
        clean_shape = (*target.shape[1:-1], target.shape[-1] - 1)
        if tuple(noisy.shape)[1:] != tuple(clean_shape):
            raise shape_changed(noise, tuple(noisy.shape)[1:], clean_shape, "patches")
    if input_size != (config.patch, config.patch):
        # Padded to the model's size; the padding's mask (the target's last channel: the real
        # pixels, or Noise2Void's blind spots) is 0, so the loss counts real pixels only.
        # (Neighbor2Neighbor's patches already fit: check_patch.)
        dataset = dataset.map(lambda n, t: pad_batch(n, t, input_size),
                              num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        noisy, target = pad_batch(noisy, target, input_size)
    prepare_for_cluster(model, strategy, (noisy, target))

    if not chief:  # every worker trains the same weights; only the chief's files are kept
        ckpt = scratch_dir()
    ckpt.mkdir(parents=True, exist_ok=True)
    writer = _StateWriter(ckpt / "state.json", config, state.get("wall_seconds", 0.0), fingerprint)
    # (checkpoints written before --select stored their best PSNR as best_val_psnr)
    writer.best, writer.best_epoch = state.get("best_val", state.get("best_val_psnr")), state.get("best_epoch")
    best_ckpt = _epoch_checkpoint(str(ckpt / "best.keras"), monitor=config.monitor, mode=config.monitor_mode,
                                  save_best_only=True, verbose=0)
    if writer.best is not None:
        best_ckpt.best = writer.best  # a resumed run only replaces a better earlier best
    guard = None
    if pairs:
        validation = ValidationCallback(pairs, multiple=multiple, fixed_size=fixed_size)
        guard = CollapseGuard(validation, loss=config.loss, learning_rate=config.learning_rate,
                              bias=config.arch_params.get("bias"), steps_per_epoch=config.steps_per_epoch,
                              first_epoch=min(GUARD_EPOCH, config.epochs))
        if state.get("collapse"):
            guard.found = Collapse(**state["collapse"])
        writer.extras = lambda: {"collapse": asdict(guard.found) if guard.found else None}
    else:  # no clean images: held-out noisy ones
        validation = feed.held_out
    callbacks = [
        validation,
        synced_logs_callback(strategy, ("val_psnr", "val_ssim")),
        *([guard] if guard else []),  # after the sync: every worker judges the same figures
        _epoch_checkpoint(str(ckpt / "last.keras"), verbose=0),
        best_ckpt,
        keras.callbacks.CSVLogger(str(ckpt / "log.csv"), append=resume),
        keras.callbacks.EarlyStopping(monitor=config.monitor, mode=config.monitor_mode, patience=config.patience,
                                      verbose=1),
        writer.callback,
    ]
    if config.time_limit:
        callbacks.append(_TimeBudget(config.time_limit, config.learning_rate, writer.elapsed, strategy,
                                     config.schedule).callback)
        if config.init and not resume:
            callbacks.append(_Warmup(FINETUNE_WARMUP_STEPS).callback)
    initial_epoch = int(state.get("epochs_done", 0))
    if initial_epoch >= config.epochs:
        raise TrainingError(f"the checkpoint already has {initial_epoch} epochs; pass a larger --epochs to continue")
    if verbose is None:
        verbose = 1 if sys.stderr.isatty() else 2
    if verbose:
        print(describe_run(config, input_size), file=sys.stderr)
    start = state.get("init_scores")  # a resumed fine-tuning: what its first run measured
    if pairs and config.init and not resume:  # what fine-tuning has to beat
        start = score(pairs, validation.predict(model))
        if verbose:
            print(f"validation before training (the --init model): {start['psnr']:.4f} dB, "
                  f"SSIM {start['ssim']:.4f}", file=sys.stderr)
    writer.init_scores = start
    with contextlib.redirect_stdout(sys.stderr):  # progress is not a result: Keras's lines go to stderr
        history = model.fit(dataset, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                            initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)

    kept_best = (ckpt / "best.keras").exists()
    best = denoiser_of(load_keras_model(ckpt / "best.keras") if kept_best else model)
    final = keras.Model(best.inputs, best.outputs, name=best.name)  # uncompiled: no optimizer state in the file
    if pairs:
        outputs = predict_pairs(final, pairs, multiple=multiple, fixed_size=fixed_size)
        figures, before = score(pairs, outputs), validation.input_scores
        checked = {"psnr": figures["psnr"], "ssim": figures["ssim"],
                   "input_psnr": before["psnr"], "input_ssim": before["ssim"], "images": len(pairs)}
        if start is not None:
            checked |= {"init_psnr": start["psnr"], "init_ssim": start["ssim"]}
            if verbose and start["psnr"] > figures["psnr"]:
                print(f"warning: no epoch beat the --init model on validation ({figures['psnr']:.4f} dB against "
                      f"{start['psnr']:.4f}): {config.init} may be the better model", file=sys.stderr)
    else:  # held-out noisy images only: the self-supervised loss and noise estimates
        checked = {**feed.held_out.figures(final), "input_noise": feed.held_out.input_noise,
                   "images": len(feed.held_out.crops)}
    if pairs and config.noise == "grayscale":  # a colorizer carries its colour calibration
        metadata[CHROMA_MAP_KEY] = fit_chroma_map(_smoothed_colorizations(pairs, outputs))
    epochs_run = initial_epoch + len(history.history.get("loss", []))
    update_metadata(final, **metadata, **{
        "validation": checked,
        "epochs": epochs_run,
        "best_epoch": writer.best_epoch if kept_best else epochs_run,
        "wall_seconds": round(writer.elapsed(), 1),
        "total_wall_seconds": round(prior_seconds + writer.elapsed(), 1),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "collapse": guard.record(figures["psnr"]) if guard else None,
    })
    out = Path(config.out)
    if chief:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.stem}.part.keras")
        final.save(tmp)
        os.replace(tmp, out)
    else:
        shutil.rmtree(ckpt, ignore_errors=True)
    return {"model": str(out), "checkpoints": str(ckpt), **read_metadata(final)}
