"""Tests of the denoisekit-jpeg plugin (run against the installed distribution)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import denoisekit.plugins as dk_plugins
from denoisekit.cli import main
from denoisekit.params import ParamError, resolve_params
from denoisekit.tf_setup import tensorflow

Jpeg = pytest.importorskip(
    "denoisekit_jpeg", reason="install the plugin first: pip install ./plugins/denoisekit-jpeg"
).Jpeg

tf = tensorflow()
SEED = tf.constant([7, 11], tf.int32)


@pytest.fixture
def fresh_registry(monkeypatch):
    """The process-wide registry, rebuilt from the installed entry points."""
    monkeypatch.delenv("DENOISEKIT_LOAD_PLUGINS", raising=False)
    dk_plugins.reset_registry()
    yield
    dk_plugins.reset_registry()


def scene(h: int = 96, w: int = 128, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A smooth synthetic photo: sinusoids, a ramp and a sharp-edged square off the 8x8 grid."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    planes = []
    for _ in range(channels):
        fx, fy = rng.uniform(2, 6, size=2)
        planes.append(0.5 + 0.25 * np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 6)) + 0.2 * (xx - yy))
    image = np.stack(planes, axis=-1)
    image[h // 3 + 3:2 * h // 3 + 3, w // 4 + 3:w // 2 + 3] += 0.2
    return np.clip(image, 0, 1).astype(np.float32)


def apply(images: np.ndarray, seed: tf.Tensor = SEED, **params) -> np.ndarray:
    batch = images if images.ndim == 4 else images[None]
    out = Jpeg().apply(tf.constant(batch), seed, **params).numpy()
    return out if images.ndim == 4 else out[0]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def blockiness(image: np.ndarray) -> float:
    """Mean jump across 8x8 block borders over the mean jump elsewhere (about 1 for a clean image)."""
    ratios = []
    for axis in (0, 1):
        jumps = np.abs(np.diff(image, axis=axis)).mean(axis=tuple(a for a in range(image.ndim) if a != axis))
        ratios.append(jumps[7::8].mean() / np.delete(jumps, np.s_[7::8]).mean())
    return float(np.mean(ratios))


@pytest.mark.parametrize("channels", [1, 3])
def test_low_quality_adds_8x8_blocking(channels):
    clean = scene(channels=channels)
    out = apply(clean, quality=10.0)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - clean).max() > 0.05
    assert blockiness(clean) < 1.1
    assert blockiness(out) > 1.5


@pytest.mark.parametrize("channels", [1, 3])
def test_lower_quality_gives_lower_psnr(channels):
    clean = scene(channels=channels)
    scores = [psnr(apply(clean, quality=float(q)), clean) for q in (5, 15, 40, 75, 95)]
    assert scores == sorted(scores) and scores[0] < scores[-1] - 10


def test_matches_a_tensorflow_jpeg_round_trip():
    clean = scene(channels=3)
    expected = tf.image.adjust_jpeg_quality(clean, 42, dct_method="INTEGER_ACCURATE").numpy()
    np.testing.assert_array_equal(apply(clean, quality=42.0), expected)


def test_quality_range_draws_integers_inclusive_per_image():
    images = np.stack([scene(32, 32, seed=1)] * 30)
    out = apply(images, quality=(20.0, 22.0))
    candidates = {q: apply(images[:1], quality=float(q))[0] for q in (20, 21, 22)}
    drawn = [next(q for q, ref in candidates.items() if np.array_equal(image, ref)) for image in out]
    assert set(drawn) == {20, 21, 22}


def test_same_seed_same_result_other_seed_other_qualities():
    images = np.stack([scene(32, 32, seed=i) for i in range(6)])
    a = apply(images, seed=tf.constant([1, 2]), quality=(5.0, 95.0))
    b = apply(images, seed=tf.constant([1, 2]), quality=(5.0, 95.0))
    c = apply(images, seed=tf.constant([2, 2]), quality=(5.0, 95.0))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    fixed = apply(images, seed=tf.constant([9, 9]), quality=30.0)
    np.testing.assert_array_equal(fixed, apply(images, quality=30.0))  # a fixed quality ignores the seed


def test_runs_inside_tf_data_graph_mode():
    images = np.stack([scene(40, 56, channels=1, seed=i) for i in range(4)])
    corruption = Jpeg()
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(2).map(
        lambda batch: corruption.apply(batch, tf.constant([1, 2]), quality=(10.0, 50.0))
    )
    assert dataset.element_spec.shape.as_list() == [None, 40, 56, 1]
    batches = np.concatenate([b.numpy() for b in dataset])
    assert batches.shape == images.shape
    assert not np.array_equal(batches, images)


def test_declared_params_parse_ranges_and_reject_bad_values():
    assert resolve_params(Jpeg.params, ["quality=10:40"], "jpeg") == {"quality": (10.0, 40.0)}
    assert resolve_params(Jpeg.params, [], "jpeg") == {"quality": 30.0}
    for bad in ("quality=0", "quality=101", "quality=50:20", "quality=high"):
        with pytest.raises(ParamError):
            resolve_params(Jpeg.params, [bad], "jpeg")


def test_plugins_json_lists_jpeg_from_its_distribution(fresh_registry):
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    entry = next(e for e in json.loads(result.stdout) if e["name"] == "jpeg")
    assert entry["kind"] == "corruption"
    assert entry["provider"] == "denoisekit-jpeg"
    assert entry["params"] == [
        {"name": "quality", "type": "range", "default": 30.0, "min": 1, "max": 100, "choices": None,
         "help": Jpeg.params[0].help}
    ]


def test_corrupt_command_with_jpeg(fresh_registry, tmp_path):
    clean, out = tmp_path / "clean", tmp_path / "out"
    (clean / "sub").mkdir(parents=True)
    rgb = (scene(channels=3) * 255).round().astype(np.uint8)
    gray = (scene(channels=1)[..., 0] * 255).round().astype(np.uint8)
    cv2.imwrite(str(clean / "rgb.png"), rgb[..., ::-1])
    cv2.imwrite(str(clean / "sub" / "gray.png"), gray)
    result = CliRunner().invoke(main, ["corrupt", str(clean), str(out), "--noise", "jpeg", "-p", "quality=5:15"])
    assert result.exit_code == 0, result.output
    rgb_out = cv2.imread(str(out / "rgb.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]
    gray_out = cv2.imread(str(out / "sub" / "gray.png"), cv2.IMREAD_UNCHANGED)
    assert rgb_out.shape == rgb.shape and gray_out.shape == gray.shape
    assert blockiness(rgb_out / 255.0) > 1.5 and blockiness(gray_out / 255.0) > 1.5


def test_benchmark_command_with_jpeg(fresh_registry, tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    cv2.imwrite(str(clean / "scene.png"), (scene(channels=1)[..., 0] * 255).round().astype(np.uint8))
    report = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["benchmark", str(clean), "--noise", "jpeg", "-p", "quality=10",
                                       "--restorers", "median", "--json", str(report)])
    assert result.exit_code == 0, result.output
    rows = {r["restorer"]: r for r in json.loads(report.read_text())["results"]}
    assert rows["noisy"]["psnr"] < 40 and rows["median"]["psnr"] is not None  # the jpeg plugin really degraded it
