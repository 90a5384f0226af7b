"""Shared fixtures for the denoisekit tests.

Images are written with OpenCV directly (not through ``denoisekit.images``), so
tests of the image layer compare against an independent writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from denoisekit.plugins import reset_registry


# --------------------------------------------------------------------------- the fast subset

#: Fixtures that pip-install distributions (10-15 s each on 2 cores): their tests are slow.
PIP_FIXTURES = {"plugin_site", "installed_minimal_plugin"}


def pytest_collection_modifyitems(items):
    """Mark every test that needs a pip install slow, so ``-m "not slow"`` stays fast."""
    for item in items:
        if PIP_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# --------------------------------------------------------------------------- plugins


@pytest.fixture(autouse=True)
def fresh_registry():
    """Every test starts and ends with an unloaded plugin registry."""
    reset_registry()
    yield
    reset_registry()


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def runner() -> CliRunner:
    """A click CliRunner; ``result.stdout`` and ``result.stderr`` are kept apart."""
    return CliRunner()


# --------------------------------------------------------------------------- images


@dataclass
class SampleImage:
    """A synthetic image file and the exact values stored in it."""

    path: Path
    pixels: np.ndarray  # (H, W, C) in the file's dtype, C = 1 or 3, RGB order
    alpha: np.ndarray | None = None  # (H, W) in the file's dtype

    @property
    def dtype(self) -> np.dtype:
        return self.pixels.dtype

    @property
    def unit(self) -> np.ndarray:
        """Pixels as float64 in [0, 1]."""
        return self.pixels.astype(np.float64) / np.iinfo(self.pixels.dtype).max


def synthetic_pixels(height: int, width: int, channels: int, dtype=np.uint8, seed: int = 0,
                     low: float = 0.4, high: float = 0.6) -> np.ndarray:
    """A textured image (gradients plus fine random detail) with values in [low, high]
    of the full scale: far enough from 0 and 1 that sigma-25 noise rarely clips.
    16-bit images use all low bits, so values are not just 8-bit values scaled up."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        wave = 0.5 + 0.25 * np.sin(x / (3.0 + c)) * np.cos(y / (5.0 + 2 * c)) + 0.25 * (x + y) / (height + width)
        planes.append(0.7 * wave + 0.3 * rng.random((height, width)))
    unit = low + (high - low) * np.clip(np.stack(planes, axis=-1), 0.0, 1.0)
    top = np.iinfo(dtype).max
    return np.rint(unit * top).astype(dtype)


def write_raw(path: Path, pixels: np.ndarray, alpha: np.ndarray | None = None) -> Path:
    """Write RGB(A)/gray integer pixels with OpenCV (converted to its BGR order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = pixels[..., 0] if pixels.shape[-1] == 1 else cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if alpha is not None:
        if data.ndim == 2:
            data = cv2.cvtColor(data, cv2.COLOR_GRAY2BGR)
        data = np.dstack([data, alpha])
    params = [cv2.IMWRITE_WEBP_QUALITY, 101] if path.suffix.lower() == ".webp" else []
    ok, buffer = cv2.imencode(path.suffix, data, params)
    assert ok, f"OpenCV could not encode {path}"
    path.write_bytes(buffer.tobytes())
    return path


def make_sample(path: Path, height: int = 40, width: int = 48, channels: int = 3, dtype=np.uint8,
                with_alpha: bool = False, seed: int = 0) -> SampleImage:
    """Write a synthetic image file and return it with its exact stored values."""
    pixels = synthetic_pixels(height, width, channels, dtype, seed)
    alpha = None
    if with_alpha:
        top = np.iinfo(dtype).max
        ramp = np.linspace(0, top, width, dtype=np.float64)[None, :].repeat(height, axis=0)
        alpha = np.rint(ramp).astype(dtype)
        alpha[: height // 4] = 0  # fully transparent band
        alpha[-(height // 4):] = top  # fully opaque band
    write_raw(path, pixels, alpha)
    return SampleImage(path, pixels, alpha)


@pytest.fixture
def gray8_png(tmp_path) -> SampleImage:
    return make_sample(tmp_path / "gray8.png", channels=1, dtype=np.uint8, seed=1)


@pytest.fixture
def rgb8_png(tmp_path) -> SampleImage:
    return make_sample(tmp_path / "rgb8.png", channels=3, dtype=np.uint8, seed=2)


@pytest.fixture
def rgb16_png(tmp_path) -> SampleImage:
    return make_sample(tmp_path / "rgb16.png", channels=3, dtype=np.uint16, seed=3)


@pytest.fixture
def rgba8_png(tmp_path) -> SampleImage:
    return make_sample(tmp_path / "rgba8.png", channels=3, dtype=np.uint8, with_alpha=True, seed=4)


@pytest.fixture
def rgba16_png(tmp_path) -> SampleImage:
    return make_sample(tmp_path / "rgba16.png", channels=3, dtype=np.uint16, with_alpha=True, seed=5)


@pytest.fixture
def make_image():
    """``make_image(path, height=, width=, channels=, dtype=, with_alpha=, seed=) -> SampleImage``."""
    return make_sample


@pytest.fixture
def write_pixels():
    """``write_pixels(path, pixels, alpha=None)``: write exact integer pixels with OpenCV."""
    return write_raw


@pytest.fixture
def synthetic():
    """``synthetic(height, width, channels, dtype=, seed=, low=, high=) -> ndarray``."""
    return synthetic_pixels
