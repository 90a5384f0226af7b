"""denoisekit export: every format, loaded in its own runtime, restores as the Keras model does
(within 1e-4), for every builtin architecture (tiny, through every format) and every bundled
model (full size, real weights, each through one format, every format used), at more than one size.

The runtimes are called here the way an app would call them, not through denoisekit's own
``run_exported``, so a test passes only if an export works without denoisekit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from denoisekit.cli import main
from denoisekit.export import FORMATS, ExportError, ExportTargetError, metadata_path_for, run_exported

TOLERANCE = 1e-4
SUFFIX = {name: fmt.suffix for name, fmt in FORMATS.items()}
#: Tiny instances of every builtin architecture: (name, channels, parameters).
TINY = {
    "unet": ("unet", 1, {"features": 4, "levels": 2}),
    "unet-chroma": ("unet", 3, {"features": 4, "levels": 2, "head": "chroma"}),
    # directed: the impulse fill with its edge-directed pairs first (a superset of prefill=impulse's ops)
    "unet-prefill": ("unet", 3, {"features": 4, "levels": 2, "bias": True, "prefill": "directed"}),
    "dncnn": ("dncnn", 3, {"features": 4, "depth": 3}),
    "autoencoder": ("autoencoder", 1, {"size": 12, "latent": 4, "filters": 4}),
}
#: Each bundled model of its own architecture, and the format it is checked in: every architecture
#: already goes through every format tiny, so the real weights go through one each (the custom
#: impulse-fill layers through tf2onnx, the most hand-mapped converter), every format used once.
BUNDLED_FORMAT = {"gaussian-gray": "openvino", "gaussian-color": "litert", "salt-and-pepper-gray": "onnx",
                  "colorize-color": "savedmodel"}


def run_savedmodel(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return [loaded.serve(tf.constant(b)).numpy() for b in batches]


def run_onnx(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return [session.run(None, {name: b})[0] for b in batches]


def run_openvino(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    import openvino

    compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return [compiled(b)[0] for b in batches]


def run_litert(path: Path, batches: list[np.ndarray]) -> list[np.ndarray]:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # no ai-edge-litert wheel for this platform: TensorFlow's own interpreter
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(path))
    results = []
    for batch in batches:  # one interpreter, resized for each size
        entry = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(entry["index"], batch.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(entry["index"], batch)
        interpreter.invoke()
        results.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy())
    return results


RUNTIMES = {"savedmodel": run_savedmodel, "onnx": run_onnx, "openvino": run_openvino, "litert": run_litert}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Each builtin architecture, tiny and untrained, saved with metadata as `train` saves it."""
    import keras

    from denoisekit.modelio import attach_metadata
    from denoisekit.plugins import architecture

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("tiny")
    paths = {}
    for label, (arch, channels, params) in TINY.items():
        found = architecture(arch).obj
        multiple = found.size_multiple(**params) if hasattr(found, "size_multiple") else 1
        meta = {"arch": arch, "channels": channels, "size_multiple": multiple,
                "corruption": "grayscale" if params.get("head") == "chroma" else "gaussian"}
        paths[label] = folder / f"{label}.keras"
        attach_metadata(found.build(channels, **params), meta).save(paths[label])
    return paths


def batches_for(denoiser) -> list[np.ndarray]:
    """Two batches of different sizes the model takes (a fixed-size model: its size, two batch sizes)."""
    rng = np.random.default_rng(0)
    if denoiser.fixed_size:
        sizes = [(1, *denoiser.fixed_size), (3, *denoiser.fixed_size)]
    else:
        m = denoiser.size_multiple
        sizes = [(2, 3 * m, 5 * m), (1, 48 // m * m + m, 32 // m * m)]
    batches = [rng.random((*size, denoiser.channels), dtype=np.float32) for size in sizes]
    for batch in batches:  # salt and pepper (every channel 0 or 1), which prefill models fill
        hit = rng.random(batch.shape[:-1]) < 0.1
        batch[hit] = rng.integers(0, 2, hit.sum())[:, None].astype(np.float32)
    return batches


def assert_round_trip(model: str | Path, fmt: str, folder: Path) -> None:
    from denoisekit.export import export_model
    from denoisekit.modelio import load_denoiser

    denoiser = load_denoiser(model)
    out = folder / f"{Path(str(model)).stem}-{fmt}{SUFFIX[fmt]}"
    result = export_model(denoiser, out, fmt)
    info = json.loads(result.metadata_path.read_text())
    assert info["model"] == denoiser.metadata and info["format"] == fmt
    assert info["input"]["size_multiple"] == denoiser.size_multiple
    assert info["input"]["shape"][1:3] == ([None, None] if not denoiser.fixed_size else list(denoiser.fixed_size))

    batches = batches_for(denoiser)
    for batch, got in zip(batches, RUNTIMES[fmt](out, batches)):
        expected = denoiser(batch)  # the Keras model, clipped to [0, 1] as denoisekit uses it
        assert got.shape == expected.shape
        difference = float(np.max(np.abs(got - expected)))
        assert difference <= TOLERANCE, f"{model} in {fmt}, batch {batch.shape}: differs by {difference:.3g}"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("label", list(TINY))
def test_every_builtin_architecture_round_trips_through_every_format(tiny_models, label, fmt, tmp_path):
    assert_round_trip(tiny_models[label], fmt, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name,fmt", BUNDLED_FORMAT.items())
def test_every_bundled_architecture_round_trips_with_its_real_weights(name, fmt, tmp_path):
    assert_round_trip(name, fmt, tmp_path)


def test_every_format_and_every_bundled_architecture_is_checked():
    """A bundled model left out above has the very graph of one checked (gaussian-chroma is
    gaussian-gray's U-Net with other weights)."""
    from denoisekit.modelio import bundled_models, peek_metadata
    from denoisekit.plugins import architecture

    def graph_of(meta: dict) -> tuple:  # the architecture with every parameter, defaults filled in
        params = {p.name: str(p.default) for p in architecture(meta["arch"]).obj.params} | meta["arch_params"]
        return meta["arch"], meta["channels"], json.dumps(params, sort_keys=True)

    assert set(BUNDLED_FORMAT.values()) == set(FORMATS)
    graph = {name: graph_of(peek_metadata(path)) for name, path in bundled_models().items()}
    checked = {graph[name] for name in BUNDLED_FORMAT}
    assert all(g in checked for g in graph.values()), graph


@pytest.mark.slow
def test_export_command_writes_the_export_and_its_json_and_checks_it(tiny_models, tmp_path):
    out = tmp_path / "sub" / "unet.onnx"
    args = ["export", str(tiny_models["unet"]), "--format", "onnx", "--out", str(out), "--check"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}\n" in result.stdout and f"wrote {out}.json\n" in result.stdout
    assert "largest difference from the Keras model" in result.stdout
    assert sorted(p.name for p in out.parent.iterdir()) == ["unet.onnx", "unet.onnx.json"]  # no staging left
    info = json.loads(Path(f"{out}.json").read_text())
    assert info["input"]["name"] == "noisy" and info["input"]["size_multiple"] == 4

    again = CliRunner().invoke(main, args)  # an export is not replaced without --overwrite
    assert again.exit_code == 2 and again.stderr.strip().endswith("exists; pass --overwrite to replace it")
    assert CliRunner().invoke(main, args + ["--overwrite"]).exit_code == 0


@pytest.mark.parametrize("fmt,module,extra", [("onnx", "tf2onnx", "onnx"), ("openvino", "openvino", "openvino")])
def test_a_missing_converter_is_one_line_naming_the_extra_to_install(monkeypatch, tmp_path, fmt, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # what importlib sees when it is not installed
    result = CliRunner().invoke(main, ["export", "gaussian-gray", "--format", fmt, "--out",
                                       str(tmp_path / f"m{SUFFIX[fmt]}")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'denoisekit[{extra}]'" in lines[0] and module in lines[0]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("fmt,module,extra", [("onnx", "onnxruntime", "onnx"), ("openvino", "openvino", "openvino")])
def test_a_missing_runtime_names_the_extra_to_install(monkeypatch, tmp_path, fmt, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ExportError, match=rf"pip install 'denoisekit\[{extra}\]'"):
        run_exported(tmp_path / f"m{SUFFIX[fmt]}", fmt, np.zeros((1, 8, 8, 1), np.float32))


@pytest.mark.parametrize("args,words", [
    (["gaussian-gray", "--format", "onnx", "--out", "m.xml"], "onnx exports are .onnx files"),
    (["gaussian-gray", "--format", "tflite", "--out", "m.tflite"], "'tflite' is not one of"),
    (["gaussian", "--format", "onnx", "--out", "m.onnx"], "export one of gaussian-color, gaussian-gray"),
    (["no-such", "--format", "litert", "--out", "m.tflite"], "no bundled model of that name"),
])
def test_export_usage_errors_are_one_line(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["export", *args])
    assert result.exit_code in (1, 2) and words in result.stderr
    assert "Traceback" not in result.output and not any(tmp_path.iterdir())


def test_a_wrong_name_is_a_usage_error_before_anything_loads(tmp_path):
    result = CliRunner().invoke(main, ["export", "gaussian-gray", "--format", "onnx", "--out", str(tmp_path / "m.tflite")])
    assert result.exit_code == 2 and "onnx exports are .onnx files; name it so" in result.stderr
    assert not any(tmp_path.iterdir())


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def test_the_json_is_named_after_the_whole_export():
    assert metadata_path_for(Path("v/ae.onnx")) == Path("v/ae.onnx.json")
    assert metadata_path_for(Path("v/ae.xml")) == Path("v/ae.xml.json")
    assert metadata_path_for(Path("v/model-v1.2")) == Path("v/model-v1.2.json")  # a SavedModel folder
    assert metadata_path_for(Path("v/model-v1.3")) != metadata_path_for(Path("v/model-v1.2"))


@pytest.mark.parametrize("fmt,name,make", [
    ("savedmodel", "precious", lambda p: (p / "sub").mkdir()),
    ("savedmodel", "precious", lambda p: (p / "saved_model.pb").write_bytes(b"")),  # a SavedModel and more
    ("onnx", "precious.onnx", lambda p: None),  # a folder where the export's file would go
])
def test_overwrite_never_replaces_a_folder_that_is_not_an_export(tmp_path, fmt, name, make):
    from denoisekit.export import export_model

    folder = tmp_path / name
    folder.mkdir()
    (folder / "thesis.txt").write_text("thesis")
    make(folder)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    for overwrite in ([], ["--overwrite"]):
        result = CliRunner().invoke(main, ["export", "gaussian-gray", "--format", fmt, "--out", str(folder),
                                           *overwrite])
        assert result.exit_code == 2, result.output
        (line,) = error_lines(result)
        assert "not" in line and "export" in line and line.endswith("it will not be replaced")
        assert "Traceback" not in result.output
    with pytest.raises(ExportTargetError, match="it will not be replaced"):
        export_model("gaussian-gray", folder, fmt, overwrite=True)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    assert (folder / "thesis.txt").read_text() == "thesis"


@pytest.mark.parametrize("out", [".", ".."])
@pytest.mark.parametrize("fmt", ["onnx", "savedmodel"])
def test_an_out_without_a_name_is_a_one_line_usage_error(tmp_path, monkeypatch, fmt, out):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(main, ["export", "gaussian-gray", "--format", fmt, "--out", out, "--overwrite"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    (line,) = error_lines(result)
    assert "name the export itself, not the folder to put it in" in line
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["work"]


@pytest.mark.slow
def test_overwrite_replaces_a_previous_savedmodel_export(tiny_models, tmp_path):
    out = tmp_path / "model-v1.2"
    first = CliRunner().invoke(main, ["export", str(tiny_models["unet"]), "--format", "savedmodel", "--out", str(out)])
    assert first.exit_code == 0, first.output
    args = ["export", str(tiny_models["dncnn"]), "--format", "savedmodel", "--out", str(out)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and error_lines(refused)[0].endswith("exists; pass --overwrite to replace it")
    again = CliRunner().invoke(main, args + ["--overwrite"])
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-v1.2", "model-v1.2.json"]  # no staging left
    assert (out / "saved_model.pb").is_file()
    assert json.loads((tmp_path / "model-v1.2.json").read_text())["model"]["arch"] == "dncnn"
    batch = np.zeros((1, 8, 8, 3), np.float32)
    assert run_savedmodel(out, [batch])[0].shape == batch.shape  # the dncnn's 3 channels, not the unet's 1


@pytest.mark.slow
def test_exports_of_one_stem_in_one_folder_each_keep_their_json(tiny_models, tmp_path):
    for fmt in ("onnx", "litert"):
        args = ["export", str(tiny_models["dncnn"]), "--format", fmt, "--out", str(tmp_path / f"ae{SUFFIX[fmt]}")]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.onnx", "ae.onnx.json", "ae.tflite", "ae.tflite.json"]
    for fmt in ("onnx", "litert"):
        info = json.loads((tmp_path / f"ae{SUFFIX[fmt]}.json").read_text())
        assert info["format"] == fmt and info["files"] == [f"ae{SUFFIX[fmt]}"]
