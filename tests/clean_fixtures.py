"""Tiny saved models and noisy/clean image folders for the ``denoisekit clean`` tests.

Import the fixtures into a test module to use them::

    from clean_fixtures import clean_models, noisy_set  # noqa: F401

``clean_models`` (session scope) trains a tiny gray U-Net for 100 steps on noisy
synthetic patches so that it really denoises (a few seconds on a CPU), and builds
untrained color, colorization and fixed-size (28x28 autoencoder) models for the
channel and tiling paths. Models are saved as ``.keras`` files with metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

import denoisekit
from denoisekit.plugins import get_registry

SIGMA = 25 / 255


def smooth_images(count: int, height: int, width: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Float32 (N, H, W, C) images in [0.15, 0.85]: waves plus sharp-edged bands."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / 32.0
    images = np.empty((count, height, width, channels), np.float32)
    for i in range(count):
        for c in range(channels):
            a, b, d, e, p, q = rng.uniform(0.5, 3.0, 6)
            images[i, ..., c] = (0.5 + 0.2 * np.sin(a * x * 3 + p) * np.cos(b * y * 3 + q)
                                 + 0.15 * np.sign(np.sin(d * x * 2.5 + e * y * 2.5)))
    return np.clip(images, 0.0, 1.0)


def add_noise(images: np.ndarray, seed: int = 1, sigma: float = SIGMA) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(images + rng.normal(0.0, sigma, images.shape), 0.0, 1.0).astype(np.float32)


def with_impulses(clean: np.ndarray, amount: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, hit): ``amount`` of the pixels of an (H, W, C) image set pure black or white in
    every channel, as salt-and-pepper does, and the (H, W) mask of those hit."""
    rng = np.random.default_rng(seed)
    hit = rng.random(clean.shape[:2]) < amount
    noisy = clean.copy()
    noisy[hit] = (rng.random(hit.sum()) < 0.5).astype(np.float32)[:, None]
    return noisy, hit


@dataclass
class CleanModels:
    """Paths of the saved test models."""

    gray: Path  # trained gray Gaussian denoiser (U-Net, levels=2, size_multiple 4)
    color: Path  # untrained RGB U-Net
    colorize: Path  # untrained chroma-head U-Net (metadata corruption "grayscale")
    fixed: Path  # untrained 28x28 autoencoder (fixed input size)
    other_gray: Path  # untrained gray U-Net: a second gray model, unlike ``gray``


def _save(model, metadata: dict, path: Path) -> Path:
    from denoisekit.modelio import attach_metadata

    attach_metadata(model, metadata).save(path)
    return path


_built: list[CleanModels] = []  # one build per test process, though each module imports the fixture


@pytest.fixture(scope="session")
def clean_models(tmp_path_factory) -> CleanModels:
    if not _built:
        _built.append(build_models(tmp_path_factory.mktemp("models")))
    return _built[0]


def build_models(folder: Path) -> CleanModels:
    from denoisekit.tf_setup import tensorflow

    tf = tensorflow()
    import keras

    from denoisekit.builtins.architectures import BottleneckAutoencoder, ResidualUNet

    keras.utils.set_random_seed(0)
    unet = ResidualUNet()
    meta = {"arch": "unet", "corruption": "gaussian", "size_multiple": 4}

    gray = unet.build(1, features=8, levels=2)
    clean = smooth_images(512, 32, 32, 1, seed=0)
    data = tf.data.Dataset.from_tensor_slices((add_noise(clean, seed=1), clean)).repeat().batch(16)
    gray.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    gray.fit(data, steps_per_epoch=100, epochs=1, verbose=0, shuffle=False)

    return CleanModels(
        gray=_save(gray, {**meta, "channels": 1}, folder / "gray.keras"),
        color=_save(unet.build(3, features=4, levels=2), {**meta, "channels": 3}, folder / "color.keras"),
        colorize=_save(unet.build(3, features=4, levels=2, head="chroma"),
                       {**meta, "channels": 3, "corruption": "grayscale"}, folder / "colorize.keras"),
        fixed=_save(BottleneckAutoencoder().build(1, size=28, latent=8, filters=4),
                    {"arch": "autoencoder", "channels": 1, "corruption": "gaussian"}, folder / "fixed.keras"),
        other_gray=_save(unet.build(1, features=4, levels=2), {**meta, "channels": 1}, folder / "other-gray.keras"),
    )


@dataclass
class NoisySet:
    """A noisy folder (with a subfolder) and its clean reference folder."""

    noisy: Path
    clean: Path
    files: list[str]  # relative paths


def write_unit(path: Path, pixels: np.ndarray, dtype=np.uint8) -> np.ndarray:
    """Write float (H, W, C) pixels in [0, 1] as an image file; return the stored integers."""
    top = np.iinfo(dtype).max
    stored = np.rint(np.clip(pixels, 0, 1) * top).astype(dtype)
    data = stored[..., 0] if stored.shape[-1] == 1 else cv2.cvtColor(stored, cv2.COLOR_RGB2BGR)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buffer = cv2.imencode(path.suffix, data)
    assert ok
    path.write_bytes(buffer.tobytes())
    return stored


@pytest.fixture
def noisy_set(tmp_path) -> NoisySet:
    """Three gray 8-bit PNGs (one in a subfolder, sizes not multiples of 4) with references."""
    shapes = {"a.png": (64, 80), "b.png": (50, 70), "sub/c.png": (45, 61)}
    for i, (rel, (h, w)) in enumerate(shapes.items()):
        clean = smooth_images(1, h, w, 1, seed=10 + i)[0]
        write_unit(tmp_path / "clean" / rel, clean)
        write_unit(tmp_path / "noisy" / rel, add_noise(clean, seed=20 + i))
    return NoisySet(tmp_path / "noisy", tmp_path / "clean", list(shapes))


# --------------------------------------------------------------------------- an inline restorer plugin


class Invert(denoisekit.Restorer):
    name = "invert-test"
    description = "Inverts the image (test plugin)."
    params = (denoisekit.Param("amount", "float", 1.0, 0.0, 1.0),)

    def make(self, amount: float = 1.0):
        return lambda pixels: pixels + amount * (1.0 - 2.0 * pixels)


class InlinePlugin:
    @denoisekit.hookimpl
    def register_restorers(self, register):
        register(Invert())


def register_inline_plugin() -> None:
    """Register ``invert-test`` (provider ``dk-invert-test``) on the process registry, as an installed plugin would."""
    get_registry().register(InlinePlugin(), "dk-invert-test", "inline-test")
