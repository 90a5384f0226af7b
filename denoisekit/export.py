"""Write a denoiser for other runtimes through Keras 3's ``model.export()``: TensorFlow
SavedModel, ONNX, OpenVINO IR, LiteRT (TFLite); the model's metadata goes beside it as JSON.

What is exported is the network alone, its output clipped to [0, 1] as denoisekit clips it:
float32 NHWC batches in [0, 1] in and out, any height and width that are multiples of the
model's ``size_multiple`` (the batch, height and width stay dynamic in every format), or the
one size of a fixed-size model. The JSON says so, with the input's name and shape. Custom
layers (``layers.py``) are traced into plain operations (reshape, transpose, ...), so a
runtime needs no denoisekit code. ``run_exported`` runs an export in its own runtime, for
``denoisekit export --check`` and the tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .tf_setup import tensorflow  # a function: TensorFlow starts only when an export does

if TYPE_CHECKING:  # modelio imports TensorFlow
    from .modelio import Denoiser

#: The input's name in every export.
INPUT_NAME = "noisy"
#: An export whose output differs from the Keras model's by more than this fails ``--check``.
CHECK_TOLERANCE = 1e-4
#: OpenVINO's CPU plugin computes in bfloat16 on CPUs that have it unless told otherwise.
OPENVINO_CONFIG = {"INFERENCE_PRECISION_HINT": "f32"}
NOT_INCLUDED = ("denoisekit's work around the network: tiling of large images, the blend of the gray and color "
                "models on color images (clean --model gaussian), keeping the pixels salt-and-pepper cannot have "
                "changed, the chroma smoothing of colorization, the self-ensemble")


class ExportError(ValueError):
    """An export that cannot be made or checked (a ValueError, as any bad argument); the message
    says why in one line."""


class ExportTargetError(ExportError):
    """An output name an export cannot take: the wrong suffix, or an existing export (``existing``:
    its path) not to be replaced."""

    def __init__(self, message: str, existing: Path | None = None) -> None:
        super().__init__(message)
        self.existing = existing


@dataclass(frozen=True)
class Format:
    """One export format: its name here and in Keras, its file, what converts and what runs it."""

    name: str
    keras_format: str
    suffix: str  # "" for a folder
    converter: tuple[str, ...]  # modules model.export() imports for it
    runtime: str  # the module that runs it
    extra: str  # pip install 'denoisekit[EXTRA]' brings both
    description: str


FORMATS = {f.name: f for f in (
    Format("savedmodel", "tf_saved_model", "", (), "tensorflow", "", "TensorFlow SavedModel (a folder; "
           "tf.saved_model.load(path).serve(batch), TF Serving, TensorFlow.js and TFLite converters)"),
    Format("onnx", "onnx", ".onnx", ("tf2onnx", "onnx"), "onnxruntime", "onnx",
           "ONNX (onnxruntime, and most other inference engines)"),
    Format("openvino", "openvino", ".xml", ("openvino",), "openvino", "openvino",
           "OpenVINO IR (.xml and .bin beside it; Intel CPUs, GPUs and NPUs)"),
    Format("litert", "litert", ".tflite", (), "ai_edge_litert", "litert",
           "LiteRT, formerly TensorFlow Lite (.tflite; Android, iOS, microcontrollers)"),
)}


@dataclass
class ExportResult:
    """What ``export_model`` wrote: the export's files and folders, and the metadata JSON."""

    format: str
    path: Path
    files: list[Path]
    metadata_path: Path
    info: dict[str, Any] = field(repr=False, default_factory=dict)


def _missing(modules: tuple[str, ...]) -> list[str]:
    found = []
    for module in modules:
        try:
            found.append(importlib.util.find_spec(module) is not None)
        except (ImportError, ValueError):
            found.append(False)
    return [m for m, ok in zip(modules, found) if not ok]


def _install_hint(fmt: Format, modules: list[str], what: str) -> str:
    names = " and ".join(m.replace("_", "-") for m in modules)
    return f"{what} {fmt.name} needs {names}, which is not installed: pip install 'denoisekit[{fmt.extra}]'"


def format_named(name: str) -> Format:
    if name not in FORMATS:
        raise ExportError(f"unknown export format {name!r} (choose from {', '.join(FORMATS)})")
    return FORMATS[name]


def metadata_path_for(out: str | Path) -> Path:
    """The JSON beside an export, named after the whole export so that two exports in one folder
    never share one: ``m.onnx`` -> ``m.onnx.json``, ``m.xml`` -> ``m.xml.json``, folder
    ``model-v1.2`` -> ``model-v1.2.json``."""
    out = Path(out)
    return out.with_name(out.name + ".json")


#: What a SavedModel folder holds (Keras writes the first four); a folder holding anything else
#: is not replaced by an export.
SAVEDMODEL_ENTRIES = frozenset({"saved_model.pb", "fingerprint.pb", "variables", "assets", "saved_model.pbtxt",
                                "assets.extra", "keras_metadata.pb"})
SAVEDMODEL_MARKERS = ("saved_model.pb", "saved_model.pbtxt")


def _not_replaceable(path: Path, folder_export: bool) -> str | None:
    """Why the existing ``path`` (one of an export's files, a SavedModel's folder when
    ``folder_export``, or the JSON) is not a previous export that ``overwrite`` may replace, or
    None when it may be."""
    if path.is_symlink():
        return None  # the link alone is replaced, not what it points to
    if path.is_file():
        return f"{path}: a SavedModel is a folder, and this is a file" if folder_export else None
    if not path.is_dir():
        return f"{path} is not a regular file; it will not be replaced"
    if not folder_export:
        return f"{path} is a folder, not an export; it will not be replaced"
    entries = sorted(entry.name for entry in path.iterdir())
    if not entries:
        return None  # an empty folder loses nothing
    others = [name for name in entries if name not in SAVEDMODEL_ENTRIES]
    if others or not any(name in entries for name in SAVEDMODEL_MARKERS):
        held = f"it holds {', '.join(others[:3])}{', ...' if len(others) > 3 else ''}" if others else \
            "no saved_model.pb in it"
        return f"{path} is a folder that is not a SavedModel export ({held}); it will not be replaced"
    return None


def _written_paths(fmt: Format, out: Path) -> list[Path]:
    return [out, out.with_suffix(".bin")] if fmt.name == "openvino" else [out]


def _versions(fmt: Format) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    found = {"denoisekit": __version__}
    for dist in ("keras", "tensorflow", *(m.replace("_", "-") for m in fmt.converter)):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return found


def describe_export(denoiser: Denoiser, fmt: Format, files: list[Path]) -> dict[str, Any]:
    """The JSON written beside an export: how to feed it, and the model's own metadata."""
    model = denoiser.model
    in_shape = [None, *(None if d is None else int(d) for d in model.input_shape[1:])]
    out_shape = [None, *(None if d is None else int(d) for d in model.output_shape[1:])]
    fixed = denoiser.fixed_size
    info: dict[str, Any] = {
        "format": fmt.name,
        "files": [p.name for p in files],
        "input": {"name": INPUT_NAME, "dtype": "float32", "layout": "NHWC", "shape": in_shape,
                  "channels": in_shape[-1], "range": [0.0, 1.0],
                  "size_multiple": denoiser.size_multiple, "fixed_size": list(fixed) if fixed else None},
        "output": {"dtype": "float32", "layout": "NHWC", "shape": out_shape, "channels": out_shape[-1],
                   "range": [0.0, 1.0]},
        "usage": ("feed float32 batches (N, H, W, C) of pixels scaled to [0, 1] (8-bit values / 255), RGB "
                  "order for 3 channels; " + (f"H, W = {fixed[0]}, {fixed[1]} exactly" if fixed else
                  f"H and W multiples of {denoiser.size_multiple} (pad the image's bottom and right edges by "
                  f"reflection up to them, and crop the output back)") + "; the output is the restored batch, "
                  "clipped to [0, 1]"),
        "not_included": NOT_INCLUDED,
        "exported_with": _versions(fmt),
        "model": dict(denoiser.metadata),
    }
    if fmt.name == "openvino":
        info["runtime_config"] = dict(OPENVINO_CONFIG)  # else bfloat16 on CPUs that have it
    return info


def _network(denoiser: Denoiser) -> Any:
    """The model as a one-input Keras model with its output clipped to [0, 1], as ``Denoiser`` runs it."""
    import keras

    model = denoiser.model
    return keras.Model(model.inputs[0], keras.ops.clip(model.outputs[0], 0.0, 1.0), name=model.name)


def export_model(model: Denoiser | str | Path, out: str | Path, format: str, *, overwrite: bool = False) -> ExportResult:
    """Export ``model`` (a loaded ``Denoiser``, a bundled model's name or a ``.keras`` path) to
    ``out`` in ``format`` (``FORMATS``), with its metadata beside it in ``metadata_path_for(out)``
    (``out``'s name + ``.json``).

    ``out`` ends in the format's suffix (``.onnx``, ``.xml``, ``.tflite``; a SavedModel is a
    folder). Nothing existing is replaced without ``overwrite``, and with it only a previous
    export (a SavedModel folder holding nothing else, a file of the export's name); the files appear
    whole or not at all.
    """
    from .plugins import debugging

    from .modelio import Denoiser, load_denoiser

    fmt = format_named(format)
    out = Path(out)
    check_target(fmt, out, overwrite)
    denoiser = model if isinstance(model, Denoiser) else load_denoiser(model)
    json_path = metadata_path_for(out)

    tf = tensorflow()
    network = _network(denoiser)
    spec = tf.TensorSpec((None, *network.input_shape[1:]), tf.float32, name=INPUT_NAME)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        staged = staging / out.name
        try:
            with _quiet_converters():
                network.export(str(staged), format=fmt.keras_format, verbose=False, input_signature=[spec])
        except Exception as err:  # converters raise anything; say which and why, in one line
            if debugging():
                raise
            lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
            raise ExportError(f"the {fmt.name} converter failed: {type(err).__name__}: "
                              f"{lines[-1] if lines else ''}") from None
        written = _written_paths(fmt, out)
        info = describe_export(denoiser, fmt, written)
        (staging / json_path.name).write_text(json.dumps(info, indent=2) + "\n")
        _check_existing(fmt, out, overwrite)  # again: the export took a while, and something may have appeared
        aside = Path(tempfile.mkdtemp(dir=staging))  # what is replaced goes here, removed with the staging
        for target in written + [json_path]:  # the JSON last: it says the export is complete
            staged_path = staging / target.name
            if target.is_symlink():
                target.unlink()  # the link, not what it points to
            elif target.is_dir():  # a previous SavedModel (_check_existing said so)
                os.replace(target, aside / target.name)
            try:
                os.replace(staged_path, target)
            except OSError:
                if (aside / target.name).exists():
                    os.replace(aside / target.name, target)  # the previous export back, not lost
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(fmt.name, out, written, json_path, info)


def check_target(fmt: Format, out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an export that could not be written: a name without the format's
    suffix, an existing export without ``overwrite``, anything existing that is not an export
    (never replaced), a converter that is not installed."""
    if out.name in ("", ".", ".."):
        raise ExportTargetError(f"{out}: name the export itself, not the folder to put it in "
                                f"(e.g. {out / ('model' + fmt.suffix)})")
    if fmt.suffix and out.suffix.lower() != fmt.suffix:
        raise ExportTargetError(f"{out}: {fmt.name} exports are {fmt.suffix} files; name it so "
                                f"(e.g. {out.with_suffix(fmt.suffix)})")
    _check_existing(fmt, out, overwrite)
    missing = _missing(fmt.converter)
    if missing:
        raise ExportError(_install_hint(fmt, missing, "exporting to"))


def _check_existing(fmt: Format, out: Path, overwrite: bool) -> None:
    """Refuse to replace what is not a previous export (with or without ``overwrite``), and an
    existing export without ``overwrite``."""
    existing = [p for p in _written_paths(fmt, out) + [metadata_path_for(out)] if p.exists() or p.is_symlink()]
    for path in existing:
        why = _not_replaceable(path, folder_export=not fmt.suffix and path == out)
        if why:
            raise ExportTargetError(why)
    if existing and not overwrite:
        raise ExportTargetError(f"{existing[0]} exists; pass overwrite=True to replace it", existing[0])


class _quiet_converters:
    """Keep converters' INFO logging (tf2onnx's dozens of lines) off the user's terminal."""

    NAMES = ("tf2onnx", "absl", "tensorflow")

    def __enter__(self) -> None:
        import logging
        import warnings

        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.simplefilter("ignore", FutureWarning)  # Keras' tf2onnx patch probes np.object
        self.levels = {name: logging.getLogger(name).level for name in self.NAMES}
        for name in self.NAMES:
            logging.getLogger(name).setLevel(logging.ERROR)

    def __exit__(self, *exc: Any) -> None:
        import logging

        for name, level in self.levels.items():
            logging.getLogger(name).setLevel(level)
        self.warnings.__exit__(*exc)


def run_exported(path: str | Path, format: str, batch: np.ndarray) -> np.ndarray:
    """Run an export on a float32 batch (N, H, W, C) in its own runtime: TensorFlow for a
    SavedModel, onnxruntime, OpenVINO (in float32), LiteRT's interpreter."""
    fmt = format_named(format)
    missing = _missing((fmt.runtime,))
    if missing and fmt.name == "litert" and not _missing(("tensorflow",)):
        missing = []  # TensorFlow's own tf.lite interpreter runs it where ai-edge-litert does not install
    if missing:
        raise ExportError(_install_hint(fmt, missing, "running"))
    batch = np.ascontiguousarray(batch, np.float32)
    path = str(path)
    if fmt.name == "savedmodel":
        loaded = tensorflow().saved_model.load(path)  # held: its variables go with it
        return np.asarray(loaded.serve(batch))
    if fmt.name == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        return session.run(None, {INPUT_NAME: batch})[0]
    if fmt.name == "openvino":
        import openvino

        return openvino.Core().compile_model(path, "CPU", OPENVINO_CONFIG)(batch)[0]
    return _run_litert(path, batch)


def _run_litert(path: str, batch: np.ndarray) -> np.ndarray:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tensorflow().lite.Interpreter
    interpreter = Interpreter(model_path=path)
    entry = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(entry["index"], batch.shape)  # the height and width are dynamic
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], batch)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def check_batch(denoiser: Denoiser, seed: int = 0) -> np.ndarray:
    """A batch of two seeded random images of a size the model takes, not square (so a swapped
    height and width shows)."""
    fixed = denoiser.fixed_size
    if fixed:
        height, width = fixed
    else:
        step = denoiser.size_multiple
        height, width = -(-40 // step) * step, -(-56 // step) * step
    rng = np.random.default_rng(seed)
    return rng.random((2, height, width, denoiser.channels), dtype=np.float32)


def check_export(result: ExportResult, denoiser: Denoiser) -> tuple[float, tuple[int, int]]:
    """The largest difference between the export run in its runtime and the Keras model (both
    clipped to [0, 1]) on ``check_batch``, and that batch's height and width."""
    batch = check_batch(denoiser)
    try:
        got = run_exported(result.path, result.format, batch)
    except ExportError:
        raise
    except Exception as err:
        raise ExportError(f"the {result.format} runtime failed on the export: {type(err).__name__}: {err}") from None
    expected = denoiser(batch)
    if got.shape != expected.shape:
        raise ExportError(f"the {result.format} export returned shape {got.shape}, the model {expected.shape}")
    return float(np.max(np.abs(got - expected))), batch.shape[1:3]
