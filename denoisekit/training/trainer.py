"""Train a denoiser: model + patch pipeline + validation + checkpoints, resumable."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..modelio import attach_metadata, load_denoiser, load_keras_model, peek_metadata, read_metadata, update_metadata
from ..noise_ops import shape_changed
from ..params import params_to_text
from ..plugin_guard import build_model, size_multiple
from ..plugins import PluginCallError, architecture, corruption, debugging, describe
from ..tf_setup import tensorflow
from .cluster import prepare_for_cluster, is_chief, mean_across_workers, scratch_dir, synced_logs_callback
from .datasets import drop_gray_images, load_training_set, load_validation_set, split_folder
from .losses import LOSSES
from .options import check_sources
from .pipeline import patch_dataset, validation_pairs
from .self_supervised import SelfSupervised, denoiser_of
from .sources import Source, check_patch, make_feed, open_source, source_metadata
from .validation import ValidationCallback, predict_pairs, score

STRATEGIES = ("default", "mirrored", "multi-worker")
VALIDATION_CROP = 256
#: The cosine schedule ends at this fraction of the initial learning rate.
COSINE_FLOOR = 0.01
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
    patch: int = 96
    seed: int = 0
    learning_rate: float = 1e-3
    patience: int = 10
    strategy: str = "default"
    loss: str = "l1"
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


class _StateWriter:
    """Records progress beside the checkpoints after each epoch, for --resume."""

    def __init__(self, path: Path, config: TrainConfig, wall_before: float) -> None:
        import keras

        outer = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                outer.write(epoch + 1, logs or {})

        self.callback = Callback()
        self.path, self.config, self.start, self.wall_before = path, config, time.time(), wall_before
        self.best: float | None = None
        self.best_epoch: int | None = None

    def write(self, epochs_done: int, logs: dict) -> None:
        val = logs.get(self.config.monitor)
        lower = self.config.monitor_mode == "min"
        if val is not None and (self.best is None or (val < self.best if lower else val > self.best)):
            self.best, self.best_epoch = val, epochs_done
        state = {"epochs_done": epochs_done, "best_val": self.best, "best_epoch": self.best_epoch,
                 "wall_seconds": self.elapsed(), "config": asdict(self.config)}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=list))
        os.replace(tmp, self.path)

    def elapsed(self) -> float:
        """Wall-clock seconds of training so far, resumed runs included."""
        return self.wall_before + time.time() - self.start


class _TimeBudget:
    """Fits a run into a wall-clock budget: the learning rate follows a cosine over the budget
    (set at each epoch start, from the time spent so far) and training stops at the last epoch
    that ends inside it. ``--epochs`` then only caps the run."""

    def __init__(self, limit: float, learning_rate: float, elapsed: Callable[[], float], strategy: Any = None) -> None:
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
        self.limit, self.lr0, self.strategy = limit, learning_rate, strategy
        # one clock for the cluster (the workers' mean), so every worker sets the same rate
        self.elapsed = lambda: mean_across_workers(strategy, elapsed())
        self.epoch_start, self.longest_epoch = time.time(), 0.0

    def learning_rate(self) -> float:
        done = min(1.0, self.elapsed() / self.limit)
        return self.lr0 * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * done)))


class _Warmup:
    """Ramps a time-budgeted run's learning rate linearly up to the budget's value over its first
    steps (the un-budgeted schedule has this built in, CosineDecay's warmup)."""

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


def read_state(config: TrainConfig) -> dict[str, Any]:
    path = config.checkpoint_dir / "state.json"
    if not path.exists():
        raise TrainingError(f"nothing to resume: {path} does not exist")
    return json.loads(path.read_text())


def train(config: TrainConfig, resume: bool = False, overwrite: bool = False, verbose: int | None = None) -> dict[str, Any]:
    """Run (or resume) training; write the best model with its metadata to ``config.out``."""
    tf = tensorflow()
    import keras

    ckpt = config.checkpoint_dir
    state: dict[str, Any] = {}
    if resume:
        state = read_state(config)
        stored = TrainConfig(**{**state["config"], "epochs": config.epochs, "steps_per_epoch": config.steps_per_epoch,
                                "time_limit": config.time_limit or state["config"].get("time_limit")})
        config = stored
    elif not overwrite and (Path(config.out).exists() or (ckpt / "state.json").exists()):
        raise TrainingError(f"{config.out} or its checkpoints exist; use --resume to continue or --overwrite to start over")

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    noise = corruption(config.noise).obj if config.noise is not None else None
    arch_obj = architecture(config.arch).obj
    multiple = size_multiple(arch_obj, **config.arch_params)

    check_sources(config.noise, config.data, config.val_data, config.pairs, config.val_pairs, config.self_supervised)
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
        if config.noise == "grayscale":
            val_set = drop_gray_images(val_set)  # a gray image says nothing about how well color is restored
        descriptions = train_set.description, val_set.description

    # A fine-tuned model's training time counts the runs it grew from (read without building it:
    # a resumed run takes its weights from the checkpoint).
    source_meta = peek_metadata(config.init) if config.init else {}
    prior_seconds = source_meta.get("total_wall_seconds", source_meta.get("wall_seconds", 0.0))

    strategy = make_strategy(config.strategy)
    chief = is_chief(strategy)
    with strategy.scope():
        if resume:
            model = load_keras_model(ckpt / "last.keras", compile=True)
        else:
            if config.init:  # fine-tune: the architecture and weights of an existing model
                model = load_denoiser(config.init).model
            else:
                model = build_model(arch_obj, config.channels, **config.arch_params)
            fixed = model.input_shape[1:3]
            if None not in fixed and config.patch != fixed[0]:
                config.patch = int(fixed[0])  # a fixed-size model trains on patches of its own size
            model = attach_metadata(model, {})
            if config.self_supervised:  # trained through a wrapper whose loss sees the input; saved plain
                model = SelfSupervised(model, config.self_supervised, name="self_supervised")
            warmup = FINETUNE_WARMUP_STEPS if config.init else 0
            if config.time_limit:
                schedule = config.learning_rate  # set each epoch by _TimeBudget, ramped by _Warmup
            else:
                decay_steps = max(1, config.epochs * config.steps_per_epoch - warmup)
                schedule = keras.optimizers.schedules.CosineDecay(
                    0.0 if warmup else config.learning_rate, decay_steps=decay_steps, alpha=COSINE_FLOOR,
                    warmup_target=config.learning_rate if warmup else None, warmup_steps=warmup)
            model.compile(optimizer=keras.optimizers.Adam(schedule),
                          loss=None if config.self_supervised else LOSSES[config.loss])

    denoiser = denoiser_of(model)
    fixed_size = denoiser.input_shape[1:3]
    fixed_size = None if None in fixed_size else tuple(int(v) for v in fixed_size)
    metadata = {
        "denoisekit_version": __version__,
        "arch": config.arch,
        "arch_params": params_to_text(config.arch_params),
        "channels": config.channels,
        "corruption": config.noise,  # None: the noise of --pairs or of the data itself
        "corruption_params": params_to_text(config.noise_params),
        "patch": config.patch,
        "size_multiple": multiple,
        "input_bits": 8,
        "seed": config.seed,
        "batch": config.batch,
        "loss": config.loss,
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
            noisy, clean = next(iter(feed.dataset.take(1)))
        dataset, pairs = feed.dataset, feed.pairs
        if source.pairs is not None and tuple(noisy.shape) != tuple(clean.shape):
            raise shape_changed(noise, tuple(noisy.shape)[1:], tuple(clean.shape)[1:], "patches")
    else:
        with _training_feed_guard(noise):
            dataset = patch_dataset(train_set.images, noise, config.noise_params,
                                    patch=config.patch, batch=config.batch, seed=config.seed)
            noisy, clean = next(iter(dataset.take(1)))
        if tuple(noisy.shape) != tuple(clean.shape):
            raise shape_changed(noise, tuple(noisy.shape)[1:], tuple(clean.shape)[1:], "patches")
        pairs = validation_pairs(val_set.images, noise, config.noise_params, size=VALIDATION_CROP,
                                 multiple=multiple, seed=config.seed + 7, fixed_size=fixed_size)
    prepare_for_cluster(model, strategy, (noisy, clean))

    if not chief:  # every worker trains the same weights; only the chief's files are kept
        ckpt = scratch_dir()
    ckpt.mkdir(parents=True, exist_ok=True)
    writer = _StateWriter(ckpt / "state.json", config, state.get("wall_seconds", 0.0))
    # (checkpoints written before --select stored their best PSNR as best_val_psnr)
    writer.best, writer.best_epoch = state.get("best_val", state.get("best_val_psnr")), state.get("best_epoch")
    best_ckpt = _epoch_checkpoint(str(ckpt / "best.keras"), monitor=config.monitor, mode=config.monitor_mode,
                                  save_best_only=True, verbose=0)
    if writer.best is not None:
        best_ckpt.best = writer.best  # a resumed run only replaces a better earlier best
    validation = ValidationCallback(pairs) if pairs else feed.held_out  # no clean images: held-out noisy ones
    callbacks = [
        validation,
        synced_logs_callback(strategy, ("val_psnr", "val_ssim")),
        _epoch_checkpoint(str(ckpt / "last.keras"), verbose=0),
        best_ckpt,
        keras.callbacks.CSVLogger(str(ckpt / "log.csv"), append=resume),
        keras.callbacks.EarlyStopping(monitor=config.monitor, mode=config.monitor_mode, patience=config.patience,
                                      verbose=1),
        writer.callback,
    ]
    if config.time_limit:
        callbacks.append(_TimeBudget(config.time_limit, config.learning_rate, writer.elapsed, strategy).callback)
        if config.init and not resume:
            callbacks.append(_Warmup(FINETUNE_WARMUP_STEPS).callback)
    initial_epoch = int(state.get("epochs_done", 0))
    if initial_epoch >= config.epochs:
        raise TrainingError(f"the checkpoint already has {initial_epoch} epochs; pass a larger --epochs to continue")
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    history = model.fit(dataset, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
                        initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)

    kept_best = (ckpt / "best.keras").exists()
    best = denoiser_of(load_keras_model(ckpt / "best.keras") if kept_best else model)
    final = keras.Model(best.inputs, best.outputs, name=best.name)  # uncompiled: no optimizer state in the file
    if pairs:
        figures, before = score(pairs, predict_pairs(final, pairs)), validation.input_scores
        checked = {"psnr": figures["psnr"], "ssim": figures["ssim"],
                   "input_psnr": before["psnr"], "input_ssim": before["ssim"], "images": len(pairs)}
    else:  # held-out noisy images only: the self-supervised loss and noise estimates
        checked = {**feed.held_out.figures(final), "input_noise": feed.held_out.input_noise,
                   "images": len(feed.held_out.crops)}
    epochs_run = initial_epoch + len(history.history.get("loss", []))
    update_metadata(final, **metadata, **{
        "validation": checked,
        "epochs": epochs_run,
        "best_epoch": writer.best_epoch if kept_best else epochs_run,
        "wall_seconds": round(writer.elapsed(), 1),
        "total_wall_seconds": round(prior_seconds + writer.elapsed(), 1),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
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
