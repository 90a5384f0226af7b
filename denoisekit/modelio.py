"""Saved denoisers: ``.keras`` files with their metadata, the bundled ones, and inference.

A model's metadata lives in the config of its ``ModelInfo`` layer, so the file
alone says how to use it; loading keeps Keras ``safe_mode`` on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .layers import INFO_LAYER, ModelInfo
from .tf_setup import tensorflow

BUNDLED_DIR = Path(__file__).parent / "bundled"
#: A bundled ``TASK-chroma`` model restores the chroma channels of the task's colour route
#: (inference.choose_route): a gray model trained on those channels of colour photographs.
CHROMA_MODEL_SUFFIX = "chroma"


class ModelLoadError(Exception):
    """A model name or file that cannot be used; the message says why."""


def attach_metadata(model: Any, metadata: dict[str, Any]) -> Any:
    """Wrap ``model`` so its output passes through a ModelInfo layer holding ``metadata``."""
    import keras

    if _info_layer(model) is not None:
        _info_layer(model).metadata = dict(metadata)
        return model
    outputs = ModelInfo(metadata, name=INFO_LAYER)(model.outputs[0])
    return keras.Model(model.inputs, outputs, name=model.name)


def _info_layer(model: Any) -> ModelInfo | None:
    for layer in model.layers:
        if isinstance(layer, ModelInfo):
            return layer
    return None


def read_metadata(model: Any) -> dict[str, Any]:
    layer = _info_layer(model)
    return dict(layer.metadata) if layer is not None else {}


def update_metadata(model: Any, **changes: Any) -> None:
    layer = _info_layer(model)
    if layer is None:
        raise ModelLoadError("model has no denoisekit metadata layer")
    layer.metadata = {**layer.metadata, **changes}


def bundled_models() -> dict[str, Path]:
    """Bundled model name -> file."""
    return {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.keras"))}


def resolve_model_path(spec: str | Path) -> Path:
    """A bundled model's name, or the path of a ``.keras`` file."""
    bundled = bundled_models()
    if str(spec) in bundled:
        return bundled[str(spec)]
    path = Path(spec)
    if path.is_file():
        return path
    known = ", ".join(bundled) or "none"
    raise ModelLoadError(f"no model file {spec!r} and no bundled model of that name (bundled: {known})")


def peek_metadata(spec: str | Path) -> dict[str, Any]:
    """A saved model's denoisekit metadata, read from the file's config without building the model."""
    import json
    import zipfile

    path = resolve_model_path(spec)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        info = next(layer["config"]["metadata"] for layer in config["config"]["layers"]
                    if layer.get("class_name") == "ModelInfo")
        return json.loads(info) if isinstance(info, str) else dict(info)
    except (OSError, KeyError, TypeError, ValueError, StopIteration, zipfile.BadZipFile) as err:
        raise ModelLoadError(f"{path}: not a model made by `denoisekit train` ({type(err).__name__})") from None


def load_keras_model(path: str | Path, compile: bool = False) -> Any:
    """Load a ``.keras`` file with safe_mode on; a clear error if that is impossible."""
    tensorflow()
    import keras

    from . import layers  # noqa: F401  (registers our layers)
    from .plugins import get_registry

    get_registry()  # architecture plugins register their custom layers on import

    import zipfile

    if Path(path).is_file() and not zipfile.is_zipfile(path):  # Keras would say "File not found"
        raise ModelLoadError(f"{path}: not a .keras model file (a .keras file is a zip archive)")
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as err:  # keras raises many types for a bad file
        raise ModelLoadError(f"{path}: not a loadable denoisekit model ({type(err).__name__}: {err})") from None


@dataclass
class Denoiser:
    """A loaded model ready for inference on float32 NHWC batches in [0, 1]."""

    model: Any
    metadata: dict[str, Any]
    path: Path | None = None

    @property
    def channels(self) -> int:
        return int(self.model.input_shape[-1])

    @property
    def fixed_size(self) -> tuple[int, int] | None:
        """(H, W) the model requires, or None when it takes any size (fully convolutional)."""
        h, w = self.model.input_shape[1:3]
        return (int(h), int(w)) if h is not None and w is not None else None

    @property
    def size_multiple(self) -> int:
        """Input height and width must be multiples of this (pad, then crop)."""
        return int(self.metadata.get("size_multiple", 1))

    @property
    def task(self) -> str:
        return task_of(self.metadata)

    def __post_init__(self) -> None:
        tf = tensorflow()
        # One graph for every batch and image size: traced once, on the first call, instead of
        # again for each new tile or image shape (tracing costs as much as restoring a megapixel).
        spec = tf.TensorSpec((None, *self.model.input_shape[1:]), tf.float32)
        self._predict = tf.function(lambda x: self.model(x, training=False), input_signature=[spec])

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Restore a batch (N, H, W, channels); H and W must fit ``size_multiple``/``fixed_size``."""
        out = self._predict(np.ascontiguousarray(batch, np.float32))
        return np.clip(np.asarray(out), 0.0, 1.0)


def task_of(metadata: dict[str, Any]) -> str:
    """``colorize`` for a model trained to undo ``grayscale``, else ``denoise``."""
    return "colorize" if metadata.get("corruption") == "grayscale" else "denoise"


def noise_of(metadata: dict[str, Any]) -> str:
    """What a model learnt to remove, in words: its corruption and parameters, the pairs it
    was trained on (and any noise added on top), or its self-supervised method."""
    params = ",".join(f"{k}={v}" for k, v in metadata.get("corruption_params", {}).items())
    made = f"{metadata.get('corruption')} {params}".strip() if metadata.get("corruption") else ""
    source = metadata.get("noise_source", "synthetic")
    if source == "pairs":
        return f"pairs {metadata.get('pairs', '')}".strip() + (f" + {made}" if made else "")
    if source == "self-supervised":
        return f"noisy images ({metadata.get('self_supervised', {}).get('method', 'self-supervised')})"
    return made


def load_denoiser(spec: str | Path) -> Denoiser:
    """Load a bundled model by name or a ``.keras`` file made by ``denoisekit train``."""
    path = resolve_model_path(spec)
    model = load_keras_model(path)
    metadata = read_metadata(model)
    if not metadata:
        raise ModelLoadError(f"{path}: a Keras model without denoisekit metadata (train it with `denoisekit train`)")
    return Denoiser(model, metadata, path)


#: Tasks ``clean --model TASK`` accepts; the bundled model is ``TASK-gray`` or ``TASK-color``.
TASKS = ("gaussian", "salt-and-pepper", "colorize")


def bundled_for(task: str, channels: int) -> str | None:
    """The bundled model's name for a task and an image's channel count (1 or 3), or None.

    Prefers the model of the image's own kind and falls back to the other kind.
    """
    names = bundled_models()
    kind, other = ("gray", "color") if channels == 1 else ("color", "gray")
    for name in (f"{task}-{kind}", task, f"{task}-{other}"):
        if name in names:
            return name
    return None
