"""Tiled inference: tile plans, exactness against whole-image inference, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from clean_fixtures import clean_models  # noqa: F401

from denoisekit.tiling import plan_axis, reflect_indices, tiled_apply


class Recorder:
    """A batch function that records the shapes it is called with."""

    def __init__(self, fn=lambda batch: batch.copy()):
        self.fn, self.shapes = fn, []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        return self.fn(batch)


@pytest.mark.parametrize("length,tile,overlap,multiple", [
    (1000, 256, 64, 8), (257, 256, 64, 8), (256, 256, 64, 8), (100, 256, 64, 8),
    (999, 100, 30, 4), (5, 64, 16, 8), (1, 64, 16, 8), (6000, 512, 64, 4),
])
def test_plan_axis_covers_each_pixel_once_on_the_model_grid(length, tile, overlap, multiple):
    size, spans = plan_axis(length, tile, overlap, multiple)
    assert size % multiple == 0
    kept = np.concatenate([np.arange(s.keep_start, s.keep_end) for s in spans])
    np.testing.assert_array_equal(kept, np.arange(length))  # a partition, in order
    for s in spans:
        assert s.start % multiple == 0
        assert s.start <= s.keep_start and s.keep_end <= s.start + size
        # Context on every inner side: at least half the (rounded) overlap.
        if s.keep_start > 0:
            assert s.keep_start - s.start >= overlap // 2
        if s.keep_end < length:
            assert s.start + size - s.keep_end >= overlap // 2
    if length > tile:
        # No bigger than asked, and no more tiles than the asked size needs: the tile shrinks
        # to the smallest that covers the axis in that many (less work for the same count).
        asked = tile // multiple * multiple
        rounded_overlap = -(-overlap // multiple) * multiple
        assert size <= asked
        assert len(spans) == -(-(length - rounded_overlap) // (asked - rounded_overlap))
        assert spans[-1].start + size < length + multiple  # padding below one multiple


def test_plan_axis_fixed_size_uses_exactly_that_size():
    size, spans = plan_axis(100, 28, 64, multiple=1, fixed=True)
    assert size == 28 and spans[-1].start + 28 == 100
    size, spans = plan_axis(10, 28, 64, multiple=1, fixed=True)
    assert size == 28 and spans == spans[:1] and (spans[0].keep_start, spans[0].keep_end) == (0, 10)


def test_overlap_must_be_smaller_than_the_tile():
    with pytest.raises(ValueError, match="larger than the overlap"):
        plan_axis(1000, 64, 64, 8)


def test_reflect_indices_match_numpy_reflect_padding():
    for length in (1, 2, 3, 7):
        values = np.arange(length)
        np.testing.assert_array_equal(values[reflect_indices(np.arange(length + 20), length)],
                                      np.pad(values, (0, 20), mode="reflect"))


@pytest.mark.parametrize("shape", [(37, 53, 1), (200, 130, 3), (8, 300, 1)])
def test_identity_through_tiles_is_exact_and_batches_are_bounded(shape):
    image = np.random.default_rng(0).random(shape, dtype=np.float32)
    fn = Recorder()
    out = tiled_apply(image, fn, tile=32, overlap=8, batch=3, multiple=4)
    np.testing.assert_array_equal(out, image)
    assert len(fn.shapes) > 1 or shape[0] <= 32
    assert all(s[0] <= 3 and s[1] % 4 == 0 and s[2] % 4 == 0 for s in fn.shapes)


def test_fixed_size_model_gets_exactly_its_size_even_for_small_images():
    fn = Recorder()
    for shape in ((100, 61, 1), (20, 9, 1)):
        image = np.random.default_rng(1).random(shape, dtype=np.float32)
        np.testing.assert_array_equal(tiled_apply(image, fn, overlap=64, batch=8, fixed_size=(28, 28)), image)
    assert {s[1:] for s in fn.shapes} == {(28, 28, 1)}


def test_output_may_have_other_channels_and_can_go_into_a_view():
    image = np.random.default_rng(2).random((70, 90, 1), dtype=np.float32)
    out = tiled_apply(image, Recorder(lambda b: np.repeat(b, 3, axis=-1)), tile=32, overlap=8)
    np.testing.assert_array_equal(out, np.repeat(image, 3, axis=-1))
    target = np.zeros((70, 90, 3), np.float32)
    tiled_apply(image, Recorder(), tile=32, overlap=8, out=target[..., 1:2])
    np.testing.assert_array_equal(target[..., 1], image[..., 0])
    assert not target[..., 0].any() and not target[..., 2].any()


def test_tiled_inference_matches_whole_image_inference(clean_models):
    """A U-Net (levels=2: receptive-field radius ~23 px) tiled with 32 px of context a side
    gives the whole-image result, also for sizes that need reflect padding."""
    from denoisekit.modelio import load_denoiser

    denoiser = load_denoiser(clean_models.gray)
    rng = np.random.default_rng(3)
    for height, width in ((200, 148), (203, 150)):
        image = rng.random((height, width, 1), dtype=np.float32)
        padded = np.pad(image, ((0, -height % 4), (0, -width % 4), (0, 0)), mode="reflect")
        whole = denoiser(padded[None])[0, :height, :width]
        fn = Recorder(denoiser)
        tiled = tiled_apply(image, fn, tile=96, overlap=64, batch=2, multiple=denoiser.size_multiple)
        assert len(fn.shapes) >= 6 and max(s[0] for s in fn.shapes) <= 2
        assert np.abs(tiled - whole).max() < 1e-3


def test_a_denoiser_builds_one_graph_for_every_batch_and_image_size(clean_models):
    # A folder of photos of many sizes (tiles, edge tiles, channels as a batch) must not pay
    # for tracing the model again at each new shape.
    from denoisekit.modelio import load_denoiser

    denoiser = load_denoiser(clean_models.gray)
    rng = np.random.default_rng(0)
    for shape in ((1, 64, 64, 1), (3, 96, 128, 1), (2, 36, 20, 1), (1, 200, 148, 1)):
        out = denoiser(rng.random(shape, dtype=np.float32))
        assert out.shape == shape and out.dtype == np.float32
    assert denoiser._predict.experimental_get_tracing_count() == 1
    fixed = load_denoiser(clean_models.fixed)
    for batch in (1, 5):
        assert fixed(rng.random((batch, 28, 28, 1), dtype=np.float32)).shape == (batch, 28, 28, 1)
    assert fixed._predict.experimental_get_tracing_count() == 1


MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, sys, tracemalloc
    import cv2, numpy as np
    from denoisekit import modelio
    from denoisekit.cli import main

    model, folder = sys.argv[1], sys.argv[2]
    height, width = 4000, 6000  # 24 megapixels
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cv2.imwrite(folder + "/big.png", (128 + 60 * np.sin(x / 50) * np.cos(y / 70)).astype(np.uint8))
    del x, y
    batches = []
    call = modelio.Denoiser.__call__
    modelio.Denoiser.__call__ = lambda self, b: (batches.append(b.shape), call(self, b))[1]
    tracemalloc.start()
    try:
        main(["clean", folder + "/big.png", folder + "/out", "--model", model,
              "--tile", "512", "--overlap", "64", "--batch", "4"], standalone_mode=False)
    except SystemExit as exit:
        assert not exit.code, exit.code
    peak_numpy = tracemalloc.get_traced_memory()[1]
    out = cv2.imread(folder + "/out/big.png", cv2.IMREAD_UNCHANGED)
    warm_up, tiles = batches[0], batches[1:]  # clean first restores a corner, untimed
    print(json.dumps({"shape": list(out.shape), "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "peak_numpy": peak_numpy, "warm_up": list(warm_up), "calls": len(tiles),
                      "max_batch": max(b[0] for b in tiles), "tile": list(tiles[0][1:])}))
""")


@pytest.mark.slow
def test_24_megapixel_photo_is_cleaned_within_2_gb(clean_models, tmp_path):
    """The whole `clean` run on a 6000x4000 image, in a fresh process: its peak resident
    memory (TensorFlow included) stays under 2 GB; numpy never holds more than a few
    image-sized arrays (input, output, writing); the model sees at most --batch tiles."""
    script = tmp_path / "measure.py"
    script.write_text(MEMORY_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(clean_models.gray), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"24 MP run: peak RSS {found['peak_rss'] / 2**20:.0f} MiB, numpy peak {found['peak_numpy'] / 2**20:.0f} MiB")
    assert found["shape"] == [4000, 6000]
    # 9 x 14 tiles, each shrunk to the least that covers the image in that many (504 x 488).
    assert found["max_batch"] <= 4 and found["tile"] == [504, 488, 1]
    assert found["calls"] == 32  # 126 tiles in batches of 4
    assert found["warm_up"] == [1, 32, 32, 1]  # the untimed corner before them
    assert found["peak_numpy"] < 8 * 24e6 * 4  # a handful of float32 planes, never a padded/stacked copy per tile
    assert found["peak_rss"] < 2 * 2**30


@pytest.mark.parametrize("tile,overlap,multiple", [(64, 63, 8), (20, 15, 8), (8, 7, 8)])
def test_an_overlap_just_under_the_tile_is_cut_to_what_the_model_grid_allows(tile, overlap, multiple):
    """`clean --tile 64 --overlap 63` passes the check on the numbers given; rounded to the
    model's multiple the overlap would reach the tile and every image fail. It is capped instead."""
    size, spans = plan_axis(300, tile, overlap, multiple)
    kept = np.concatenate([np.arange(s.keep_start, s.keep_end) for s in spans])
    np.testing.assert_array_equal(kept, np.arange(300))
    assert size % multiple == 0 and size <= tile
