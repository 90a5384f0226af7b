"""Normalisation, axes and ``denoisekit.restore_array``: how stacks become the planes restorers see."""

from __future__ import annotations

import numpy as np
import pytest
from stack_fixtures import as_uint16, camera_planes, noisy_version, page_gains

import denoisekit
from denoisekit.normalization import Normalization, NormalizeSpec, Statistics, parse_normalize
from denoisekit.planes import layout_of


@pytest.mark.parametrize("text, mode, percentiles", [
    ("auto", "auto", (1.0, 99.8)), ("Range", "range", (1.0, 99.8)), ("dtype", "dtype", (1.0, 99.8)),
    ("percentile", "percentile", (1.0, 99.8)), ("percentile:0.1,99.9", "percentile", (0.1, 99.9)),
])
def test_normalize_texts(text, mode, percentiles):
    spec = parse_normalize(text)
    assert (spec.mode, spec.percentiles) == (mode, percentiles)
    assert parse_normalize(str(spec)) == spec


@pytest.mark.parametrize("text", ["minmax", "range:1,2", "percentile:5", "percentile:50,10", "percentile:-1,99"])
def test_bad_normalize_texts_are_refused(text):
    with pytest.raises(ValueError):
        parse_normalize(text)


def test_auto_is_the_full_scale_for_8_and_16_bit_and_percentiles_otherwise():
    for dtype, mode in ((np.uint8, "dtype"), (np.uint16, "dtype"), (np.int16, "percentile"),
                        (np.int32, "percentile"), (np.float32, "percentile"), (np.float16, "percentile")):
        assert NormalizeSpec().resolve(np.dtype(dtype)).mode == mode


def test_statistics_match_numpy_and_stay_bounded():
    values = np.random.default_rng(0).gamma(2.0, 100.0, 50_000).astype(np.float32)
    values[:10] = np.nan  # non-finite values are left out
    stats = Statistics(need_sample=True)
    for chunk in np.split(values, 5):
        stats.add(chunk, values.size)
    finite = values[np.isfinite(values)].astype(np.float64)
    norm = stats.normalization(NormalizeSpec("percentile", (1.0, 99.8)), np.dtype(np.float32))
    assert (norm.low, norm.high) == pytest.approx(tuple(np.percentile(finite, (1.0, 99.8))))  # exact below the budget
    assert stats.normalization(NormalizeSpec("range"), np.dtype(np.float32)).low == finite.min()

    sampled = Statistics(need_sample=True, size=4096)
    for chunk in np.split(values, 5):
        sampled.add(chunk, values.size)
    assert sum(s.size for s in sampled.samples) <= 4096 + 5  # spread over every chunk, within the budget
    estimate = sampled.normalization(NormalizeSpec("percentile"), np.dtype(np.float32))
    assert estimate.high == pytest.approx(norm.high, rel=0.1) and estimate.low == pytest.approx(norm.low, rel=0.2)


@pytest.mark.parametrize("dtype, low, high", [(np.uint16, 0, 65535), (np.int32, -70_000.0, 3e6),
                                              (np.float32, -3.5, 1200.0), (np.float16, 0.0, 1.0)])
def test_normalisation_round_trips(dtype, low, high):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "ui" else np.finfo(dtype)
    raw = np.linspace(max(low, float(info.min)), min(high, float(info.max)), 1000).astype(dtype)
    norm = Normalization(low, high, np.dtype(dtype))
    scaled = norm.forward(raw)
    assert scaled.dtype == np.float32 and scaled.min() >= -1e-6 and scaled.max() <= 1 + 1e-6
    back = norm.backward(scaled)
    assert back.dtype == dtype
    if np.dtype(dtype).kind in "ui":
        np.testing.assert_allclose(back, raw, atol=max(1, (high - low) * 1e-7))
    else:
        np.testing.assert_allclose(back, raw, rtol=1e-3 if dtype == np.float16 else 1e-6, atol=1e-4)


def test_sixteen_bit_full_scale_matches_the_image_files():
    raw = np.arange(0, 65536, 7, dtype=np.uint16)
    scaled = Normalization(0, 65535, np.dtype(np.uint16)).forward(raw)
    np.testing.assert_array_equal(scaled, raw.astype(np.float32) / np.float32(65535))  # as images.read_image


@pytest.mark.parametrize("axes, shape, pages, page_shape, color", [
    ("YX", (40, 48), 1, (40, 48, 1), False),
    ("ZYX", (5, 40, 48), 5, (40, 48, 1), False),
    ("YXZ", (40, 48, 5), 5, (40, 48, 1), False),
    ("TCYX", (2, 3, 40, 48), 6, (40, 48, 1), False),
    ("ZYXS", (2, 40, 48, 3), 2, (40, 48, 3), True),
    ("SYX", (4, 40, 48), 1, (40, 48, 4), True),
    ("YXS", (40, 48, 6), 1, (40, 48, 6), False),
])
def test_layouts_from_axes(axes, shape, pages, page_shape, color):
    layout, order = layout_of(shape, axes)
    assert layout.pages == pages and layout.page_shape == page_shape and layout.color == color
    assert sorted(order) == list(range(len(shape)))


@pytest.mark.parametrize("axes", ["ZX", "ZYXY", "YX"])
def test_bad_axes_are_refused(axes):
    with pytest.raises(ValueError, match="axes"):
        layout_of((3, 40, 48), axes)


def test_restore_array_sends_planes_and_puts_them_back_in_place():
    data = np.random.default_rng(1).integers(0, 4096, (2, 3, 20, 24), dtype=np.uint16)  # T, C, Y, X
    seen = []

    def record(pixels):
        seen.append(pixels.shape)
        return pixels

    same = denoisekit.restore_array(data, "TCYX", restorer=record)
    np.testing.assert_array_equal(same, data)  # identity: exactly the input, same dtype and axes order
    assert seen == [(20, 24, 1)] * 6
    moved = np.moveaxis(data, 1, -1)  # T, Y, X, C: any order of axes
    np.testing.assert_array_equal(denoisekit.restore_array(moved, "TYXC", restorer=lambda p: 1 - p),
                                  np.moveaxis(65535 - data, 1, -1))
    seen.clear()
    rgb = np.random.default_rng(2).integers(0, 256, (2, 20, 24, 3), dtype=np.uint8)
    np.testing.assert_array_equal(denoisekit.restore_array(rgb, "ZYXS", restorer=record), rgb)
    assert seen == [(20, 24, 3)] * 2  # S of 3: one colour image per plane


def test_channels_get_their_own_normalisation_and_non_finite_values_are_kept():
    rng = np.random.default_rng(3)
    data = np.stack([rng.normal(100, 10, (30, 30)), rng.normal(5000, 800, (30, 30))]).astype(np.float32)
    data[0, :3, :3] = np.nan
    data[1, 5, 5] = np.inf
    spans = []

    def record(pixels):
        spans.append((float(pixels.min()), float(pixels.max())))
        return pixels

    out = denoisekit.restore_array(data, "CYX", restorer=record, normalize="range")
    assert spans == [(0.0, 1.0), (0.0, 1.0)]  # each channel on the full 0-1 scale
    np.testing.assert_array_equal(np.isnan(out), np.isnan(data))
    assert out[1, 5, 5] == np.inf
    finite = np.isfinite(data)
    np.testing.assert_allclose(out[finite], data[finite], rtol=1e-6)


def test_restore_array_with_the_bundled_model_and_validation():
    truth = as_uint16(camera_planes(3, side=64))
    noisy = as_uint16(noisy_version(camera_planes(3, side=64), seed=5))
    restored = denoisekit.restore_array(noisy, "ZYX", model="gaussian", tile=64, overlap=16)
    assert restored.dtype == np.uint16 and restored.shape == noisy.shape
    assert min(page_gains(truth, noisy, restored, 65535)) > 5
    with pytest.raises(ValueError, match="params go with a restorer's name"):
        denoisekit.restore_array(noisy, "ZYX", restorer=lambda p: p, tile=64)
    with pytest.raises(ValueError, match="unsupported pixel type"):
        denoisekit.restore_array(noisy.astype(np.complex64), "ZYX", restorer=lambda p: p)
