"""Tests of the denoisekit-poisson plugin (run against the installed distribution)."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import denoisekit.plugins as dk_plugins
from denoisekit.cli import main
from denoisekit.params import ParamError, resolve_params
from denoisekit.tf_setup import tensorflow

Poisson = pytest.importorskip(
    "denoisekit_poisson", reason="install the plugin first: pip install ./plugins/denoisekit-poisson"
).Poisson

tf = tensorflow()
SEED = tf.constant([7, 11], tf.int32)


@pytest.fixture
def fresh_registry(monkeypatch):
    """The process-wide registry, rebuilt from the installed entry points."""
    monkeypatch.delenv("DENOISEKIT_LOAD_PLUGINS", raising=False)
    dk_plugins.reset_registry()
    yield
    dk_plugins.reset_registry()


def flat(value: float, n: int = 4, size: int = 128, channels: int = 1) -> tf.Tensor:
    return tf.fill([n, size, size, channels], value)


def apply(images: tf.Tensor, seed: tf.Tensor = SEED, **params) -> np.ndarray:
    return Poisson().apply(images, seed, **params).numpy()


@pytest.mark.parametrize("gray", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("peak", [3.0, 30.0, 1000.0])
def test_shot_noise_variance_is_x_over_peak(gray, peak):
    out = apply(flat(gray), peak=peak, clip=False)
    noise = out - gray
    assert abs(noise.mean()) < 4 * math.sqrt(gray / peak / noise.size)  # unbiased
    assert noise.var() == pytest.approx(gray / peak, rel=0.03)


@pytest.mark.parametrize("read_sigma", [2.0, 10.0])
def test_read_noise_adds_its_variance(read_sigma):
    gray, peak = 0.4, 50.0
    out = apply(flat(gray, channels=3), peak=peak, read_sigma=read_sigma, clip=False)
    assert out.var() == pytest.approx(gray / peak + (read_sigma / 255) ** 2, rel=0.03)


def test_counts_are_quantised_to_one_photon():
    peak = 5.0
    out = apply(flat(0.6, n=1, size=64), peak=peak, clip=False)
    photons = out * peak
    np.testing.assert_allclose(photons, np.round(photons), atol=1e-4)
    assert photons.min() >= 0


def test_black_stays_black_without_read_noise():
    assert np.all(apply(flat(0.0), peak=1.0) == 0.0)


def test_clip_keeps_unit_range_and_shape():
    images = tf.random.stateless_uniform([2, 40, 30, 3], [1, 2])
    out = apply(images, peak=1.0, read_sigma=30.0)
    assert out.shape == (2, 40, 30, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert apply(flat(0.9), peak=1.0, clip=False).max() > 1.0


def test_same_seed_same_noise_other_seed_other_noise():
    images = tf.random.stateless_uniform([2, 32, 32, 3], [3, 4])
    a = apply(images, seed=tf.constant([1, 2]), peak=(2.0, 200.0), read_sigma=(0.0, 10.0))
    b = apply(images, seed=tf.constant([1, 2]), peak=(2.0, 200.0), read_sigma=(0.0, 10.0))
    c = apply(images, seed=tf.constant([1, 3]), peak=(2.0, 200.0), read_sigma=(0.0, 10.0))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_peak_range_gives_each_image_its_own_log_uniform_level():
    gray, lo, hi, n = 0.5, 2.0, 2000.0, 200
    out = apply(flat(gray, n=n, size=48), peak=(lo, hi), clip=False)
    implied_peak = gray / out.reshape(n, -1).var(axis=1)
    assert implied_peak.min() > 0.8 * lo and implied_peak.max() < 1.25 * hi
    assert len(np.unique(np.round(np.log(implied_peak), 1))) > 20  # not one shared level
    # log-uniform: half the images below the geometric mean (a uniform draw gives ~3%)
    assert 0.35 < np.mean(implied_peak < math.sqrt(lo * hi)) < 0.65


def test_read_sigma_range_is_sampled_per_image():
    n = 64
    out = apply(flat(0.5, n=n, size=48), peak=1e5, read_sigma=(0.0, 20.0), clip=False)
    implied_sigma = np.sqrt(np.maximum(out.reshape(n, -1).var(axis=1) - 0.5 / 1e5, 0)) * 255
    assert implied_sigma.max() < 21 and implied_sigma.min() < 5 and implied_sigma.max() > 15


def test_runs_inside_tf_data_graph_mode():
    images = tf.random.stateless_uniform([4, 24, 24, 1], [5, 6])
    corruption = Poisson()
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(2).map(
        lambda batch: corruption.apply(batch, tf.constant([1, 2]), peak=(1.0, 100.0), read_sigma=3.0)
    )
    batches = [b.numpy() for b in dataset]
    assert [b.shape for b in batches] == [(2, 24, 24, 1)] * 2
    assert all(0.0 <= b.min() and b.max() <= 1.0 for b in batches)


def test_declared_params_parse_ranges_and_reject_bad_values():
    values = resolve_params(Poisson.params, ["peak=1:100", "read_sigma=2", "clip=false"], "poisson")
    assert values == {"peak": (1.0, 100.0), "read_sigma": 2.0, "clip": False}
    assert resolve_params(Poisson.params, [], "poisson") == {"peak": 30.0, "read_sigma": 0.0, "clip": True}
    for bad in ("peak=0", "peak=100:1", "read_sigma=-1", "peak=1e6"):
        with pytest.raises(ParamError):
            resolve_params(Poisson.params, [bad], "poisson")


def test_plugins_json_lists_poisson_from_its_distribution(fresh_registry):
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    entry = next(e for e in json.loads(result.stdout) if e["name"] == "poisson")
    assert entry["kind"] == "corruption"
    assert entry["provider"] == "denoisekit-poisson"
    assert [p["name"] for p in entry["params"]] == ["peak", "read_sigma", "clip"]
    assert entry["params"][0]["type"] == "range"


def test_plugins_table_and_load_plugins_env(fresh_registry, monkeypatch):
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 0 and "poisson" in result.stdout and "peak=30 (range, 0.1..100000)" in result.stdout
    monkeypatch.setenv("DENOISEKIT_LOAD_PLUGINS", "")
    dk_plugins.reset_registry()
    assert "poisson" not in CliRunner().invoke(main, ["plugins"]).stdout
    monkeypatch.setenv("DENOISEKIT_LOAD_PLUGINS", "denoisekit-poisson")
    dk_plugins.reset_registry()
    assert "poisson" in CliRunner().invoke(main, ["plugins"]).stdout


def test_corrupt_command_with_poisson(fresh_registry, tmp_path):
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    clean.mkdir()
    cv2.imwrite(str(clean / "gray.png"), np.full((32, 48), 128, np.uint8))
    cv2.imwrite(str(clean / "rgb.png"), np.full((32, 48, 3), 200, np.uint8))
    args = ["corrupt", str(clean), str(noisy), "--noise", "poisson", "-p", "peak=10", "-p", "read_sigma=2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    gray = cv2.imread(str(noisy / "gray.png"), cv2.IMREAD_UNCHANGED)
    rgb = cv2.imread(str(noisy / "rgb.png"), cv2.IMREAD_UNCHANGED)
    assert gray.shape == (32, 48) and rgb.shape == (32, 48, 3)
    assert (gray.astype(float) / 255).std() == pytest.approx(math.sqrt(128 / 255 / 10), rel=0.25)

    again = CliRunner().invoke(main, args[:2] + [str(tmp_path / "again")] + args[3:])
    assert again.exit_code == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "again" / "rgb.png")), cv2.imread(str(noisy / "rgb.png")))

    bad = CliRunner().invoke(main, args[:2] + [str(tmp_path / "bad"), "--noise", "poisson", "-p", "peak=0"])
    assert bad.exit_code == 2 and "peak" in bad.output


@pytest.mark.slow
def test_train_command_with_poisson_writes_a_model(fresh_registry, tmp_path):
    from skimage import data

    from denoisekit.modelio import load_denoiser

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("camera", "coins"):
        cv2.imwrite(str(photos / f"{name}.png"), getattr(data, name)()[:96, :96])
    out = tmp_path / "poisson.keras"
    result = CliRunner().invoke(main, ["train", "--noise", "poisson", "-p", "peak=5:50", "--data", str(photos),
                                       "-a", "features=4", "-a", "levels=2", "--epochs", "1", "--steps-per-epoch", "3",
                                       "--batch", "4", "--patch", "32", "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = load_denoiser(out).metadata
    assert meta["corruption"] == "poisson" and meta["corruption_params"]["peak"] == "5:50"
