"""``clean`` on folders of small images: consecutive images of one shape restored together
(``restore_many``), with the same outputs, rows, order and per-file errors as one by one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from clean_fixtures import add_noise, clean_models, smooth_images, write_unit  # noqa: F401

from denoisekit.batch import process_files
from denoisekit.cleaning import Cleaner, many_limit
from denoisekit.cli import main
from denoisekit.files import collect_inputs
from denoisekit.images import read_image
from denoisekit.inference import MANY_MAX, MANY_PIXELS, ModelRestore
from denoisekit.plugin_guard import GuardedRestore
from denoisekit.tiling import apply_one_tile, fits_one_tile, plan_axis, tiled_apply

TILE = dict(tile=64, overlap=16)


@pytest.fixture(scope="module")
def loaded(clean_models):
    """The test models loaded once for the module (``ModelRestore(preloaded=...)``), and the gray
    one as if trained on salt-and-pepper (``sp``: its input pixels kept and filled)."""
    from denoisekit.modelio import Denoiser, load_denoiser

    models = {name: load_denoiser(getattr(clean_models, name)) for name in ("gray", "color", "colorize", "fixed")}
    gray = models["gray"]
    models["sp"] = Denoiser(gray.model, {**gray.metadata, "corruption": "salt-and-pepper"}, gray.path)
    return models


def model_restore(clean_models, loaded, name: str, **options) -> ModelRestore:
    path = getattr(clean_models, "gray" if name == "sp" else name)
    return ModelRestore(str(path), preloaded=loaded[name], **{**TILE, **options})


def noisy(count: int, height: int, width: int, channels: int, seed: int = 0) -> list[np.ndarray]:
    return list(add_noise(smooth_images(count, height, width, channels, seed=seed), seed=seed + 1))


# --------------------------------------------------------------------------- tiling


@pytest.mark.parametrize("height,width,multiple", [(30, 45, 4), (64, 64, 8), (1, 7, 4), (17, 64, 1)])
def test_a_stack_through_one_tile_equals_tiled_apply_on_each(height, width, multiple):
    images = np.random.default_rng(0).random((5, height, width, 2), dtype=np.float32)

    def fn(batch):  # position-dependent, so padding or cropping in the wrong place shows
        return np.cumsum(batch, axis=1)[..., :1] * np.arange(batch.shape[2], dtype=np.float32)[None, None, :, None]

    assert fits_one_tile(height, width, 64, multiple)
    assert len(plan_axis(height, 64, 16, multiple)[1]) == len(plan_axis(width, 64, 16, multiple)[1]) == 1
    together = apply_one_tile(images, fn, multiple)
    for image, out in zip(images, together):
        np.testing.assert_array_equal(out, tiled_apply(image, fn, tile=64, overlap=16, multiple=multiple))
    assert not fits_one_tile(65, 10, 64, 8) and not fits_one_tile(10, 60, 60, 8)  # 60 rounds down to 56


# --------------------------------------------------------------------------- the model restorer


@pytest.mark.parametrize("name,channels,options", [
    ("gray", 1, {}), ("gray", 3, {}), ("gray", 3, {"color": "opponent"}), ("color", 3, {}), ("color", 1, {}),
    ("sp", 1, {}),
])
def test_restore_many_equals_one_by_one_on_each_route(clean_models, loaded, name, channels, options):
    restore = model_restore(clean_models, loaded, name, **options)
    images = noisy(5, 30, 45, channels)
    for k, image in enumerate(images):  # impulses, for the salt-and-pepper model's kept and filled pixels
        image[k::7, ::5] = k % 2
    limit = restore.many_limit(images[0].shape)
    assert limit == 64 * 64 * 4 // (32 * 48 * channels) > 1  # a tiled call's pixels, in padded images
    one = [restore(image) for image in images]
    many = restore.restore_many(images)
    assert len(many) == len(images)
    for a, b in zip(one, many):
        assert b.shape == a.shape and b.dtype == np.float32
        np.testing.assert_allclose(b, a, atol=1e-5)
        np.testing.assert_array_equal(np.rint(b * 255), np.rint(a * 255))
    if name == "sp":  # each image kept its own untouched pixels
        for image, out in zip(images, many):
            kept = (image > 0) & (image < 1)
            assert kept.mean() > 0.5 and np.array_equal(out[kept], image[kept])


def test_images_a_group_cannot_help_go_one_by_one(clean_models, loaded):
    gray = model_restore(clean_models, loaded, "gray")
    assert gray.many_limit((65, 30, 1)) == 1  # two tiles
    assert gray.many_limit((4, 4, 1)) == MANY_MAX  # 1024 would fit: capped
    assert model_restore(clean_models, loaded, "gray", tile=4096).many_limit((64, 64, 3)) == MANY_PIXELS // 4096 // 3
    assert model_restore(clean_models, loaded, "gray", ensemble=True).many_limit((30, 30, 1)) == 1
    assert model_restore(clean_models, loaded, "colorize").many_limit((30, 30, 1)) == 1
    assert model_restore(clean_models, loaded, "fixed").many_limit((28, 28, 1)) == 1
    ensemble = model_restore(clean_models, loaded, "gray", ensemble=True)
    images = noisy(2, 20, 20, 1)
    for a, b in zip(ensemble.restore_many(images), [ensemble(image) for image in images]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="one shape"):
        gray.restore_many([images[0], images[0][:10]])


# --------------------------------------------------------------------------- clean's pipeline


class Recording:
    """A restorer's function, recording how its images come: one at a time, or several."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __getattr__(self, name):
        return getattr(self.fn, name)

    def __call__(self, pixels):
        self.calls.append(1)
        return self.fn(pixels)

    def restore_many(self, images):
        self.calls.append(len(images))
        return self.fn.restore_many(images)


def mixed_folder(root: Path) -> Path:
    """Small images of mixed sizes, channels and depths, with a corrupt file and a large image
    among them: ``a*`` gray 30x45 (``a3`` corrupt, ``a5`` 16-bit), ``b*`` RGB 30x45, ``d`` gray
    100x70 (more than one 64 px tile), ``e*`` gray 20x20."""
    shapes = {"a1": (30, 45, 1), "a2": (30, 45, 1), "a4": (30, 45, 1), "a5": (30, 45, 1), "b1": (30, 45, 3),
              "b2": (30, 45, 3), "d": (100, 70, 1), "e1": (20, 20, 1), "e2": (20, 20, 1), "e3": (20, 20, 1)}
    for seed, (name, (height, width, channels)) in enumerate(shapes.items()):
        image = noisy(1, height, width, channels, seed=seed)[0]
        write_unit(root / f"{name}.png", image, np.uint16 if name == "a5" else np.uint8)
    (root / "a3.png").write_bytes(b"not a png")
    return root


def run(folder: Path, out: Path, restore, group: bool, overwrite: bool = False):
    inputs = collect_inputs(folder)
    cleaner = Cleaner(restore, inputs, None, crops=False, group=group)
    return inputs, process_files(inputs, out, cleaner, overwrite, show_progress=False)


def without_time(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("seconds", "seconds_per_megapixel")}


def test_grouped_outputs_rows_and_errors_match_one_by_one(tmp_path, clean_models, loaded):
    folder = mixed_folder(tmp_path / "in")
    (tmp_path / "grouped").mkdir()
    write_unit(tmp_path / "grouped" / "e2.png", np.zeros((20, 20, 1)))  # an output kept from an earlier run
    grouped = Recording(GuardedRestore(object(), model_restore(clean_models, loaded, "gray")))
    inputs, together = run(folder, tmp_path / "grouped", grouped, group=True)
    _, alone = run(folder, tmp_path / "alone", model_restore(clean_models, loaded, "gray"), group=False)

    # a1, a2, a4, a5 (a3 unreadable: left out) with the gray warm-up before them; b1, b2 with the
    # RGB warm-up; d alone (two tiles); e1, e3 (e2 kept)
    assert grouped.calls == [1, 4, 1, 2, 1, 2]
    assert [r.rel for r in together] == inputs.files == [r.rel for r in alone]
    statuses = {r.rel.stem: r.status for r in together}
    assert statuses["a3"] == "failed" and statuses["e2"] == "exists"
    assert all(s == "written" for stem, s in statuses.items() if stem not in ("a3", "e2"))
    assert "a3.png" in together[inputs.files.index(Path("a3.png"))].error
    for mine, theirs in zip(together, alone):
        if mine.status == "written":
            assert mine.target.read_bytes() == theirs.target.read_bytes(), mine.rel  # 8- and 16-bit alike
            assert without_time(mine.info["row"]) == without_time(theirs.info["row"])
            assert mine.info["row"]["seconds"] > 0
    # The group's time is split evenly among its images.
    rows = {r.rel.stem: r.info["row"] for r in together if r.status == "written"}
    assert rows["a1"]["seconds"] == rows["a2"]["seconds"] == rows["a4"]["seconds"] == rows["a5"]["seconds"]


class Invert:
    """A restorer that can take several images at once, and fails on images whose first pixel is 0."""

    def __init__(self, limit: int = 8):
        self.limit, self.calls = limit, []

    def __call__(self, pixels):
        if pixels[0, 0, 0] == 0:
            raise RuntimeError("a black corner")
        return 1.0 - pixels

    def many_limit(self, shape):
        return self.limit

    def restore_many(self, images):
        self.calls.append(len(images))
        return [self(image) for image in images]


def flat_folder(root: Path, values: list[int]) -> Path:
    for i, value in enumerate(values):
        write_unit(root / f"{i:02d}.png", np.full((6, 7, 1), value / 255))
    return root


def test_a_failing_image_fails_alone_and_groups_are_bounded(tmp_path):
    folder = flat_folder(tmp_path / "in", [10, 20, 0, 30, 40, 50, 60])
    restore = Invert(limit=3)
    _, results = run(folder, tmp_path / "out", restore, group=True)
    # Groups of at most the limit: 10 20 0 (failed together, then restored one by one), 30 40 50;
    # 60, last and alone, is a plain call.
    assert restore.calls == [3, 3]
    assert [r.status for r in results] == ["written"] * 2 + ["failed"] + ["written"] * 4
    assert "02.png" in results[2].error and "a black corner" in results[2].error
    for i, value in enumerate([10, 20, 0, 30, 40, 50, 60]):
        if value:
            assert read_image(tmp_path / "out" / f"{i:02d}.png").pixels.max() == pytest.approx(1 - value / 255)


def test_a_restorer_without_restore_many_and_the_switch_off_go_one_by_one(tmp_path):
    folder = flat_folder(tmp_path / "in", [10, 20, 30])
    calls = []

    def plain(pixels):
        calls.append(pixels.shape)
        return 1.0 - pixels

    _, results = run(folder, tmp_path / "plain", plain, group=True)
    assert [r.status for r in results] == ["written"] * 3 and len(calls) == 4  # a warm-up and one each
    assert many_limit(plain, (6, 7, 1)) == 1
    restore = Invert()
    _, results = run(folder, tmp_path / "off", restore, group=False)
    assert [r.status for r in results] == ["written"] * 3 and restore.calls == []


def test_a_broken_restore_many_is_one_plugin_error_and_the_images_go_one_by_one(tmp_path):
    class Broken(Invert):
        def restore_many(self, images):
            return [1.0 - images[0]]  # one result for several images

    folder = flat_folder(tmp_path / "in", [10, 20, 30])
    guarded = GuardedRestore(object(), Broken())
    with pytest.raises(ValueError, match="restore_many returned 1 results for 3 images"):
        guarded.restore_many([np.zeros((2, 2, 1), np.float32)] * 3)
    _, results = run(folder, tmp_path / "out", guarded, group=True)
    assert [r.status for r in results] == ["written"] * 3
    assert read_image(tmp_path / "out" / "02.png").pixels.max() == pytest.approx(1 - 30 / 255)


def test_clean_no_group_small_gives_the_same_files_and_report(runner, tmp_path, clean_models):
    folder = tmp_path / "in"
    for i, (size, channels) in enumerate([((30, 45), 1)] * 2 + [((30, 45), 3)] * 2):
        write_unit(folder / f"{i}.png", noisy(1, *size, channels, seed=i)[0])
    reports = []
    for name, flag in (("on", "--group-small"), ("off", "--no-group-small")):
        result = runner.invoke(main, ["clean", str(folder), str(tmp_path / name), "--model", str(clean_models.gray),
                                      "--tile", "64", "--overlap", "16", flag, "--json"])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(result.stdout))
    for i in range(4):
        assert (tmp_path / "on" / f"{i}.png").read_bytes() == (tmp_path / "off" / f"{i}.png").read_bytes()
    assert [without_time(r) for r in reports[0]["files"]] == [without_time(r) for r in reports[1]["files"]]


def test_a_stack_ends_a_group_and_keeps_its_place(tmp_path):
    folder = flat_folder(tmp_path / "in", [10, 20, 30, 40, 50])
    inputs = collect_inputs(folder)
    restore = Invert()
    cleaner = Cleaner(restore, inputs, None, crops=False)
    results = process_files(inputs, tmp_path / "out", cleaner, show_progress=False,
                            stack=lambda rel, source, target: {"stack": rel.name},
                            whole=lambda source: source.name == "02.png")
    assert restore.calls == [2, 2]
    assert [r.rel.name for r in results] == [f"{i:02d}.png" for i in range(5)]
    assert results[2].status == "written" and results[2].info == {"stack": "02.png"}


@pytest.mark.slow
def test_restore_many_equals_one_by_one_with_the_bundled_models():
    restore = ModelRestore("gaussian")
    for channels, grouped in ((1, True), (3, False)):  # RGB: the noise is measured per image (opponent route)
        images = noisy(3, 24, 40, channels)
        assert (restore.many_limit(images[0].shape) > 1) == grouped
        for a, b in zip(restore.restore_many(images), [restore(image) for image in images]):
            np.testing.assert_allclose(a, b, atol=1e-5)
        # RGB: the gray model on the luminance, the bundled chroma model on the chroma planes
        assert restore.last_model == ("gaussian-gray" if channels == 1 else "gaussian-gray + gaussian-chroma")
