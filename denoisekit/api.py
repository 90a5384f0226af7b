"""denoisekit from Python: what the commands do, on numpy arrays.

    >>> import denoisekit
    >>> restored = denoisekit.denoise(image)                    # uint8/uint16/float, gray/RGB(A)
    >>> model = denoisekit.load("gaussian-gray")                 # a model object: metadata, callable
    >>> noisy = denoisekit.corrupt(image, "gaussian", sigma=25)
    >>> denoisekit.psnr(image, restored), denoisekit.ssim(image, restored)

Arrays go through the same code as files do in ``clean``, ``corrupt`` and ``metrics``
(``images.image_from_array`` is ``read_image`` for arrays, ``cleaning.restore_pixels`` the
restoration of one image). Wrong input raises one ValueError or TypeError that says what to
change. Nothing here imports TensorFlow until a model is used.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import numpy as np

from .plugin_guard import GuardedRestore

if TYPE_CHECKING:
    from .export import ExportResult
    from .modelio import Denoiser

RestoreFn = Callable[[np.ndarray], np.ndarray]
#: Restorers kept made between calls (model weights stay loaded); the oldest goes first.
CACHED_RESTORERS = 4
_restorers: OrderedDict[tuple[Any, ...], tuple[Any, RestoreFn]] = OrderedDict()


@contextmanager
def _as_value_errors() -> Iterator[None]:
    """An unknown plugin or an unusable model file is a ValueError here, as any bad argument is."""
    import sys

    try:
        yield
    except ValueError:
        raise
    except Exception as err:
        from .plugins import PluginError

        modelio = sys.modules.get("denoisekit.modelio")  # imported only where models are used
        if isinstance(err, PluginError) or (modelio is not None and isinstance(err, modelio.ModelLoadError)):
            raise ValueError(str(err)) from None
        raise


class Model:
    """A saved denoiser, loaded: ``model(image, **options)`` restores an image array as
    ``denoise`` does; ``metadata`` says how it was trained; ``export`` writes it for other runtimes.
    Made by ``load`` (and returned by ``train``)."""

    def __init__(self, denoiser: Denoiser, name: str) -> None:
        self._denoiser = denoiser
        self.name = name

    @property
    def path(self) -> Path:
        """The ``.keras`` file."""
        return Path(self._denoiser.path)

    @property
    def metadata(self) -> dict[str, Any]:
        """What the file says of itself: architecture, channels, corruption and its parameters,
        validation figures, training data and options (a copy)."""
        return dict(self._denoiser.metadata)

    @property
    def channels(self) -> int:
        """1 for a gray model, 3 for an RGB one (either restores both kinds of image)."""
        return self._denoiser.channels

    @property
    def task(self) -> str:
        """``denoise``, or ``colorize`` for a model trained to undo ``grayscale``."""
        return self._denoiser.task

    @property
    def size_multiple(self) -> int:
        """The network's input height and width must be multiples of this (``denoise`` pads and crops)."""
        return self._denoiser.size_multiple

    @property
    def keras_model(self) -> Any:
        """The Keras model itself: float32 batches (N, H, W, channels) in [0, 1] in and out."""
        return self._denoiser.model

    def __call__(self, image: np.ndarray, **options: Any) -> np.ndarray:
        """``denoise(image, model=self, **options)``."""
        return denoise(image, model=self, **options)

    def export(self, path: str | Path, format: str = "onnx", *, overwrite: bool = False) -> ExportResult:
        """Write the network for another runtime (``savedmodel``, ``onnx``, ``openvino``, ``litert``),
        with this metadata beside it as JSON; see ``denoisekit export --help``."""
        from .export import export_model

        return export_model(self._denoiser, path, format, overwrite=overwrite)

    def __repr__(self) -> str:
        meta = self._denoiser.metadata
        params = ",".join(f"{k}={v}" for k, v in meta.get("corruption_params", {}).items())
        kind = "RGB" if self.channels == 3 else "gray"
        return f"<denoisekit.Model {self.name!r}: {meta.get('arch')}, {kind}, {meta.get('corruption')} {params}>"


def load(name_or_path: str | Path) -> Model:
    """A bundled model by name (``denoisekit models`` lists them: ``gaussian-gray``, ...) or a
    ``.keras`` file made by ``denoisekit train``. A task (``gaussian``) names two models, gray
    and color: load one of them, or pass the task to ``denoise``."""
    from .modelio import TASKS, bundled_for, load_denoiser

    spec = str(name_or_path)
    if spec in TASKS:
        names = sorted({name for name in (bundled_for(spec, 1), bundled_for(spec, 3)) if name})
        raise ValueError(f"{spec!r} is a task, not one model (its bundled models: {', '.join(names) or 'none'}): "
                         f"load one of those, or call denoisekit.denoise(image, model={spec!r})")
    with _as_value_errors():
        denoiser = load_denoiser(spec)
    return Model(denoiser, spec if not Path(spec).suffix else Path(spec).stem)


def _restorer(restorer: str, model: str | Path | Model | None, options: Mapping[str, Any]) -> RestoreFn:
    """The restore function for these arguments, reused while it is among the last few made."""
    from .params import format_value, resolve_params
    from .plugins import get_registry

    with _as_value_errors():
        found = get_registry().get("restorer", restorer)
    declared = {p.name for p in found.params}
    if model is not None and "model" not in declared:
        raise ValueError(f"the restorer {restorer!r} takes no model (its parameters: {', '.join(declared) or 'none'})")
    if "model" in options:
        raise ValueError("give the model as denoise's model argument")
    texts = {key: format_value(value) for key, value in options.items()}
    if isinstance(model, Model):
        from .inference import ModelRestore

        if restorer != "model":
            raise ValueError(f"a loaded Model runs with the restorer 'model'; give {restorer!r} its path")
        texts["model"] = str(model.path)
        values = resolve_params(found.params, texts, f"restorer {restorer!r}")  # ParamError is a ValueError
        # Made anew each call (cheap: the Model holds the loaded weights and their traced graph).
        return GuardedRestore(found.obj, ModelRestore(values.pop("model"), preloaded=model._denoiser, **values))
    if model is not None:
        texts["model"] = str(model)
    values = resolve_params(found.params, texts, f"restorer {restorer!r}")
    # The plugin object's identity in the key (the entry keeps it alive): a registry rebuilt with
    # another plugin of the name makes anew.
    key = (id(found.obj), _file_stamp(values.get("model")),
           tuple(sorted((k, format_value(v)) for k, v in values.items())))
    if key not in _restorers:
        with _as_value_errors():
            _restorers[key] = (found.obj, GuardedRestore(found.obj, found.obj.make(**values)))
        while len(_restorers) > CACHED_RESTORERS:
            _restorers.popitem(last=False)
    _restorers.move_to_end(key)
    return _restorers[key][1]


def _file_stamp(spec: Any) -> tuple | None:
    """A model file's identity and version, so a retrained file is loaded anew."""
    if spec is None or not Path(str(spec)).is_file():
        return None
    stat = Path(str(spec)).resolve().stat()
    return (str(Path(str(spec)).resolve()), stat.st_mtime_ns, stat.st_size)


def denoise(image: np.ndarray, model: str | Path | Model | None = None, *, restorer: str = "model",
            **options: Any) -> np.ndarray:
    """``image`` restored, in its own dtype and shape: what ``denoisekit clean`` writes for a file.

    ``image``: uint8, uint16 or float in [0, 1]; (H, W) or (H, W, 1) gray, (H, W, 2) gray +
    alpha, (H, W, 3) RGB, (H, W, 4) RGBA (alpha kept as it is). ``model``: a task (``gaussian``,
    the default; ``salt-and-pepper``; ``colorize``, whose gray input comes back RGB), a bundled
    model's name, a ``.keras`` path or a ``Model``. ``options``: the ``model`` restorer's
    parameters (``tile``, ``overlap``, ``batch``, ``ensemble``, ``chroma_scale``, ... as ``clean -p``
    takes them; ``denoisekit plugins`` lists them), or another ``restorer``'s (``median``,
    ``nlmeans``, ``bm3d``, a plugin's). Large images go through the model in overlapping tiles,
    so memory stays bounded.
    """
    from .cleaning import restore_pixels
    from .images import image_from_array, image_to_array

    picture = image_from_array(image)
    restore = _restorer(restorer, model, options)
    return image_to_array(picture.with_pixels(restore_pixels(restore, picture.pixels)))


def corrupt(image: np.ndarray, noise: str = "gaussian", *, seed: int = 0, **params: Any) -> np.ndarray:
    """``image`` with noise made by a corruption plugin (``gaussian``, ``salt-and-pepper``,
    ``grayscale``, a plugin's; ``denoisekit plugins`` lists their parameters), in its own dtype
    and shape (integers rounded, values clipped to the type's range), as ``denoisekit corrupt``
    writes it. The same ``seed`` gives the same noise."""
    from .images import image_from_array, image_to_array
    from .noise_ops import apply_corruption, check_seed
    from .params import format_value, resolve_params
    from .plugins import get_registry

    picture = image_from_array(image)
    with _as_value_errors():
        found = get_registry().get("corruption", noise)
    values = resolve_params(found.params, {k: format_value(v) for k, v in params.items()}, f"corruption {noise!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, not {seed!r}")
    check_seed(seed)
    with _as_value_errors():
        noisy = apply_corruption(found.obj, picture.pixels, values, int(seed))
    return image_to_array(picture.with_pixels(noisy))


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images' pixels on one scale, [0, 1] (alpha left out, as ``metrics`` leaves it)."""
    from .images import image_from_array

    ref, out = image_from_array(reference), image_from_array(test)
    if ref.pixels.shape != out.pixels.shape:
        raise ValueError(f"the images differ in shape: reference {np.shape(reference)}, test {np.shape(test)}")
    return ref.pixels, out.pixels


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR of ``test`` against ``reference`` in dB, as ``denoisekit metrics`` reports it: each
    image on its own type's scale (so a uint8 and a float copy of one image compare equal),
    alpha ignored; ``inf`` for identical images."""
    from . import metrics

    return metrics.psnr(*_pair(reference, test))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM of ``test`` against ``reference`` (scikit-image's default window), as
    ``denoisekit metrics`` reports it; images as for ``psnr``."""
    from . import metrics

    return metrics.ssim(*_pair(reference, test))


def train(noise: str | None, out: str | Path = "model.keras", *, params: Mapping[str, Any] | None = None,
          data: str | Path | None = None, val_data: str | Path | None = None, pairs: str | Path | None = None,
          val_pairs: str | Path | None = None, self_supervised: str | None = None, arch: str | None = None,
          arch_params: Mapping[str, Any] | None = None, init: str | Path | None = None,
          channels: str | None = None, epochs: int = 20, steps_per_epoch: int = 200, batch: int = 16,
          patch: int | None = None, learning_rate: float = 1e-3, schedule: str | None = None,
          loss: str | None = None, augment: str | None = None, select: str = "psnr",
          patience: int = 10, time_limit: float | None = None, seed: int = 0, strategy: str = "default",
          resume: bool = False, overwrite: bool = False, verbose: int | None = None) -> Model:
    """Train a denoiser as ``denoisekit train`` does, with its options by the same names
    (``params`` are ``-p``'s, ``arch_params`` ``-a``'s: ``params={"sigma": (0, 55)}``), and
    return it, loaded from ``out``. ``data``: a folder of clean images, ``"default"`` (natural
    images scikit-image ships) or ``"mnist"``; ``channels``: ``"gray"`` or ``"rgb"``;
    ``verbose``: Keras' (0 silent, 1 progress bar, 2 a line per epoch). ``pairs``: a folder of
    noisy images matching ``data``'s clean ones (``noise`` None, or added on top);
    ``self_supervised``: a method (``"neighbor2neighbor"``, ``"noise2void"``) learning from the
    noisy images of ``data`` alone (``noise`` None); ``val_pairs``: held-out noisy images
    matching ``val_data``'s clean ones. ``patch``, ``loss``, ``augment`` (``"none"``, ``"flips"``,
    ``"dihedral"``), ``schedule`` (``"cosine"``, ``"constant"``, ``"wsd"``) and the architecture
    parameters left out: the recipe's for the architecture, the noise and the data."""
    from .training.datasets import DataError
    from .training.options import make_config
    from .training.trainer import TrainingError
    from .training.trainer import train as run_training

    config = make_config(
        None if noise is None else str(noise), out, params=params, data=None if data is None else str(data),
        val_data=val_data, pairs=pairs, val_pairs=val_pairs, self_supervised=self_supervised,
        arch=arch, arch_params=arch_params, init=init, channels=channels, epochs=epochs,
        steps_per_epoch=steps_per_epoch, batch=batch, patch=patch, learning_rate=learning_rate,
        schedule=schedule, loss=loss, augment=augment, select=select, patience=patience, time_limit=time_limit, seed=seed, strategy=strategy)
    with _as_value_errors():
        try:
            run_training(config, resume=resume, overwrite=overwrite, verbose=verbose)
        except (TrainingError, DataError) as err:
            raise ValueError(str(err)) from None
    return load(out)
