"""Seconds per megapixel of the bundled gray model under CPU TensorFlow's options, beside
OpenCV's non-local means and BM3D on the same image, in one run on one machine.

    python benchmarks/speed.py [--model gaussian-gray] [--size 1024]

Prints a table and writes benchmarks/results/speed.json. Options measured: float32 graph
(tf.function), XLA (jit_compile), whole image vs 512-pixel tiles with batches of 1 and 4,
one vs all intra-op threads and oneDNN on/off (a separate process each), and mixed bfloat16 where the CPU
has AMX or AVX512-BF16 (elsewhere it is emulated and slower, so it is reported as skipped),
TensorFlow Lite's XNNPACK CPU kernels on the same tiles, float32 and with dynamic-range int8
weights, and the model as `denoisekit export` writes it for ONNX Runtime and OpenVINO (float32)
on the same tiles (each with its largest deviation from the Keras output, on the 0-1 scale).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def timed(fn, repeats: int = 3) -> float:
    fn()  # warm-up: tracing, compilation, caches
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def tflite_predict(model, quantize: bool, threads: int):
    """A batch function running ``model`` through TensorFlow Lite (XNNPACK), any batch shape."""
    import tempfile

    from denoisekit.tf_setup import tensorflow

    tf = tensorflow()
    with tempfile.TemporaryDirectory() as saved:
        spec = tf.TensorSpec([None, None, None, model.input_shape[-1]], tf.float32)
        model.export(saved, format="tf_saved_model", input_signature=[spec], verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # int8 weights, activations quantized per call
        flatbuffer = converter.convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads)
    inp, out = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
    shape: list[tuple[int, ...]] = [()]

    def predict(batch):
        if batch.shape != shape[0]:  # a new tile shape: resize and re-plan once
            interpreter.resize_tensor_input(inp, batch.shape)
            interpreter.allocate_tensors()
            shape[0] = batch.shape
        interpreter.set_tensor(inp, np.ascontiguousarray(batch, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(out)

    return predict


def exported_predict(model_name: str, runtime: str, threads: int):
    """A batch function running the model exported by `denoisekit export` in ONNX Runtime or OpenVINO."""
    import tempfile

    from denoisekit.export import INPUT_NAME, OPENVINO_CONFIG, export_model

    folder = Path(tempfile.mkdtemp())
    out = folder / ("model.onnx" if runtime == "onnx" else "model.xml")
    if runtime == "onnx":
        import onnxruntime

        export_model(model_name, out, "onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
        return lambda batch: session.run(None, {INPUT_NAME: np.ascontiguousarray(batch, np.float32)})[0]
    import openvino

    export_model(model_name, out, "openvino")
    compiled = openvino.Core().compile_model(str(out), "CPU", {**OPENVINO_CONFIG, "INFERENCE_NUM_THREADS": threads})
    return lambda batch: compiled(np.ascontiguousarray(batch, np.float32))[0]


def measure(model_name: str, size: int, threads: int | None) -> dict[str, float | str]:
    from denoisekit.tf_setup import tensorflow

    tf = tensorflow()
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    import cv2
    import keras
    from skimage import data

    from denoisekit.benchmarking import cpu_description
    from denoisekit.inference import ModelRestore
    from denoisekit.modelio import load_denoiser

    image = cv2.resize(data.camera(), (size, size)).astype(np.float32)[..., None] / 255.0
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 25 / 255, image.shape), 0, 1).astype(np.float32)
    mp = size * size / 1e6
    denoiser = load_denoiser(model_name)
    batch = noisy[None]
    rows: dict[str, float | str] = {}
    graph = tf.function(lambda x: denoiser.model(x, training=False))
    rows["fp32 graph, whole image"] = timed(lambda: graph(batch)) / mp
    xla = tf.function(lambda x: denoiser.model(x, training=False), jit_compile=True)
    rows["fp32 XLA, whole image"] = timed(lambda: xla(batch)) / mp
    for tile_batch in (1, 4):
        restore = ModelRestore(model_name, tile=512, overlap=64, batch=tile_batch)
        rows[f"fp32 tiles 512/64, batch {tile_batch} (clean's path)"] = timed(lambda: restore(noisy)) / mp
    # The same path with each batch of tiles XLA-compiled (one compile per tile shape).
    restore = ModelRestore(model_name, tile=512, overlap=64, batch=4)
    tiled = restore._load(model_name)
    tiled._predict = tf.function(lambda x: tiled.model(x, training=False), jit_compile=True, reduce_retracing=True)
    rows["fp32 XLA tiles 512/64, batch 4"] = timed(lambda: restore(noisy)) / mp
    reference = ModelRestore(model_name, tile=512, overlap=64, batch=4)(noisy)
    for quantize, label in ((False, "fp32"), (True, "dynamic-range int8")):
        if not hasattr(getattr(tf, "lite", None), "Interpreter"):  # deprecated: LiteRT replaces it
            rows[f"TFLite XNNPACK {label}"] = "skipped: this TensorFlow has no tf.lite.Interpreter"
            continue
        restore = ModelRestore(model_name, tile=512, overlap=64, batch=4)
        restore._load(model_name)._predict = tflite_predict(denoiser.model, quantize, threads or os.cpu_count() or 1)
        seconds = timed(lambda: restore(noisy)) / mp
        deviation = float(np.abs(restore(noisy) - reference).max())
        rows[f"TFLite XNNPACK {label} tiles 512/64, batch 4"] = seconds
        rows[f"TFLite XNNPACK {label}: largest deviation from Keras (0-1 scale)"] = f"{deviation:.1e}"
    for runtime in ("onnx", "openvino"):
        label = {"onnx": "ONNX Runtime", "openvino": "OpenVINO f32"}[runtime]
        try:
            predict = exported_predict(model_name, runtime, threads or os.cpu_count() or 1)
        except ImportError as err:
            rows[label] = f"skipped: {err} (pip install 'denoisekit[{runtime}]')"
            continue
        restore = ModelRestore(model_name, tile=512, overlap=64, batch=4)
        restore._load(model_name)._predict = predict
        rows[f"{label} tiles 512/64, batch 4"] = timed(lambda: restore(noisy)) / mp
        rows[f"{label}: largest deviation from Keras (0-1 scale)"] = f"{float(np.abs(restore(noisy) - reference).max()):.1e}"
    cpu = cpu_description()
    if cpu["amx_bf16"] or cpu["avx512_bf16"]:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        bf16 = keras.Model.from_config(denoiser.model.get_config())
        bf16.set_weights(denoiser.model.get_weights())
        keras.mixed_precision.set_global_policy("float32")
        fn = tf.function(lambda x: bf16(x, training=False))
        rows["mixed bfloat16 graph, whole image"] = timed(lambda: fn(batch)) / mp
    else:
        rows["mixed bfloat16"] = "skipped: no AMX/AVX512-BF16 (emulated bf16 is slower)"
    u8 = np.rint(noisy[..., 0] * 255).astype(np.uint8)
    rows["OpenCV fastNlMeansDenoising h=25"] = timed(lambda: cv2.fastNlMeansDenoising(u8, None, 25, 7, 21)) / mp
    return rows


def bm3d_seconds_per_mp(size: int) -> float:
    import bm3d

    rng = np.random.default_rng(0)
    noisy = np.clip(rng.random((size, size)) * 0.2 + 0.4 + rng.normal(0, 0.1, (size, size)), 0, 1)
    start = time.perf_counter()
    bm3d.bm3d(noisy, 25 / 255)
    return (time.perf_counter() - start) / (size * size / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gaussian-gray")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--child-threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_threads:  # one measurement in a fresh process (thread settings are per process)
        print(json.dumps(measure(args.model, args.size, args.child_threads)))
        return
    from denoisekit.benchmarking import cpu_description

    rows = {}
    cores = os.cpu_count() or 1
    # (threads, oneDNN): oneDNN is TensorFlow's default on x86; TF_ENABLE_ONEDNN_OPTS=0 turns it off.
    for threads, onednn in ((cores, "1"), (1, "1"), (cores, "0")):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn}
        out = subprocess.run([sys.executable, __file__, "--model", args.model, "--size", str(args.size),
                              "--child-threads", str(threads)], capture_output=True, text=True, check=True, env=env)
        label = f"{threads} thread{'s' if threads > 1 else ''}, oneDNN {'on' if onednn == '1' else 'off'}"
        for key, value in json.loads(out.stdout.strip().splitlines()[-1]).items():
            if onednn == "0" and any(name in key for name in ("OpenCV", "TFLite", "ONNX", "OpenVINO")):
                continue  # only TensorFlow itself uses its oneDNN switch
            rows[f"{key} [{label}]"] = value
    rows["BM3D (bm3d package), sigma 25, 512x512 [all threads]"] = bm3d_seconds_per_mp(512)
    cpu = cpu_description()
    print(f"CPU: {cpu['model']}, {cpu['cores']} cores, AVX-512: {cpu['avx512']}, AMX-BF16: {cpu['amx_bf16']}")
    print("| setting | s/MP |\n|---|---|")
    for key, value in rows.items():
        print(f"| {key} | {value if isinstance(value, str) else f'{value:.3f}'} |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "speed.json").write_text(json.dumps({"cpu": cpu, "model": args.model, "size": args.size,
                                                    "seconds_per_mp": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
