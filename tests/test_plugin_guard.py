"""A corruption plugin that raises or breaks its contract is named in one line, before anything is written."""

from __future__ import annotations

import numpy as np
import pytest
from clean_fixtures import noisy_set  # noqa: F401  (fixture)

import denoisekit
from denoisekit.cli import main
from denoisekit.plugins import get_registry


class Broken(denoisekit.Corruption):
    name = "broken-test"
    description = "Misbehaves on purpose (test plugin)."
    params = (denoisekit.Param("how", "str", "raise", choices=("raise", "shape", "nan", "scale", "ints")),)

    def apply(self, images, seed, how="raise"):
        import tensorflow as tf

        if how == "raise":
            raise RuntimeError("the noise generator is out of noise")
        if how == "shape":
            return images[:, :, : tf.shape(images)[2] // 2]  # half the width
        if how == "scale":
            return images * 255.0  # written, every pixel would be white
        if how == "ints":
            return tf.cast(tf.round(images * 255.0), tf.uint8)
        return images * np.float32("nan")


class BrokenPlugin:
    @denoisekit.hookimpl
    def register_corruptions(self, register):
        register(Broken())


@pytest.fixture
def broken():
    get_registry().register(BrokenPlugin(), "dk-broken-test", "broken-test")


@pytest.mark.parametrize("how, words", [("raise", "failed: RuntimeError: the noise generator is out of noise"),
                                        ("shape", "returned shape"), ("nan", "NaN or infinite"),
                                        ("scale", "not 0-255"), ("ints", "returned uint8 values")])
def test_corrupt_names_the_misbehaving_plugin_in_one_line_per_file_and_writes_nothing(
        runner, broken, noisy_set, tmp_path, how, words):
    result = runner.invoke(main, ["corrupt", str(noisy_set.clean), str(tmp_path / "out"), "--noise", "broken-test",
                                  "-p", f"how={how}"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3  # one per file
    assert all(": corruption 'broken-test' (from dk-broken-test)" in e and words in e for e in errors)
    assert sorted(e.split(":")[1].strip() for e in errors) == ["a.png", "b.png", "sub/c.png"]  # which file, too
    assert "Traceback" not in result.output
    assert not list((tmp_path / "out").rglob("*.png"))


@pytest.mark.slow
@pytest.mark.parametrize("how", ["raise", "shape"])
def test_train_stops_on_a_broken_corruption_before_making_any_file(runner, broken, noisy_set, tmp_path, how):
    out = tmp_path / "m.keras"
    result = runner.invoke(main, ["train", "--noise", "broken-test", "-p", f"how={how}", "--data", str(noisy_set.clean),
                                  "--val-data", str(noisy_set.noisy), "--arch", "dncnn", "-a", "depth=3",
                                  "-a", "features=4", "--patch", "32", "--batch", "2", "--epochs", "1",
                                  "--steps-per-epoch", "1", "--out", str(out)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "corruption 'broken-test' (from dk-broken-test)" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "noisy"]  # no model, no .ckpt folder


def test_debug_lets_the_plugins_own_exception_through(runner, broken, monkeypatch):
    from denoisekit.noise_ops import apply_corruption
    from denoisekit.plugins import PluginCallError, corruption

    obj = corruption("broken-test").obj
    with pytest.raises(PluginCallError, match="from dk-broken-test"):
        apply_corruption(obj, np.zeros((8, 8, 1), np.float32), {"how": "raise"}, 0)
    monkeypatch.setenv("DENOISEKIT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="out of noise"):
        apply_corruption(obj, np.zeros((8, 8, 1), np.float32), {"how": "raise"}, 0)


class BrokenRestorer(denoisekit.Restorer):
    name = "broken-restorer-test"
    description = "Misbehaves on purpose (test plugin)."
    params = (denoisekit.Param("how", "str", "raise", choices=("raise", "shape", "nan", "scale", "none")),)

    def make(self, how="raise"):
        def restore(pixels):
            if how == "raise":
                raise RuntimeError("the filter bank is empty")
            if how == "shape":
                return pixels[::2]
            if how == "nan":
                return pixels * np.float32("nan")
            if how == "scale":
                return pixels * 255.0  # 0-255, where [0, 1] is the contract
            return None
        return restore


class BrokenArchitecture(denoisekit.Architecture):
    name = "broken-arch-test"
    description = "Misbehaves on purpose (test plugin)."
    params = (denoisekit.Param("how", "str", "raise", choices=("raise", "not-a-model", "channels", "multiple")),)

    def build(self, channels, how="raise"):
        import keras

        if how == "raise":
            raise RuntimeError("out of layers")
        if how == "not-a-model":
            return "a model"
        inputs = keras.Input((None, None, channels))
        return keras.Model(inputs, keras.layers.Conv2D(channels + 1, 3, padding="same")(inputs))

    def size_multiple(self, how="raise"):
        return 0 if how == "multiple" else 1


class BrokenKinds:
    @denoisekit.hookimpl
    def register_restorers(self, register):
        register(BrokenRestorer())

    @denoisekit.hookimpl
    def register_architectures(self, register):
        register(BrokenArchitecture())


@pytest.fixture
def broken_kinds():
    get_registry().register(BrokenKinds(), "dk-broken-kinds", "broken-kinds")


@pytest.mark.parametrize("how, words", [("raise", "failed in restoring an image: RuntimeError: the filter bank is empty"),
                                        ("shape", "returned shape"), ("nan", "NaN or infinite"),
                                        ("scale", "values from 0 to 255"), ("none", "not an array of pixels")])
def test_clean_names_a_misbehaving_restorer_in_one_line_per_file_and_writes_nothing(
        runner, broken_kinds, noisy_set, tmp_path, how, words):
    result = runner.invoke(main, ["clean", str(noisy_set.noisy), str(tmp_path / "out"),
                                  "--restorer", "broken-restorer-test", "-p", f"how={how}"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, result.stderr
    assert all("restorer 'broken-restorer-test' (from dk-broken-kinds)" in e and words in e for e in errors)
    assert sorted(e.split(":")[1].strip() for e in errors) == ["a.png", "b.png", "sub/c.png"]
    assert "Traceback" not in result.output
    assert not list((tmp_path / "out").rglob("*.png"))


def test_benchmark_reports_the_other_restorers_when_one_fails(runner, broken_kinds, noisy_set, tmp_path):
    """A restorer failing on an image stopped the whole benchmark with a traceback, the other
    restorers' figures lost."""
    import json

    out = tmp_path / "b.json"
    result = runner.invoke(main, ["benchmark", str(noisy_set.clean), "--noise", "gaussian",
                                  "--restorers", "median,broken-restorer-test:how=raise", "--json", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and all("broken-restorer-test" in e and "the filter bank is empty" in e for e in errors)
    rows = {r["restorer"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["median"]["psnr"] > rows["noisy"]["psnr"]  # measured as if alone
    assert rows["broken-restorer-test:how=raise"]["psnr"] is None and rows["broken-restorer-test:how=raise"][
        "seconds_per_mp"] is None


def test_restore_array_raises_one_named_error_for_a_restorer_returning_0_255(broken_kinds):
    from denoisekit.plugins import PluginCallError

    with pytest.raises(PluginCallError, match="restorer 'broken-restorer-test' .* values from 100 to 100 "):
        denoisekit.restore_array(np.full((16, 16), 100, np.uint8), "YX", restorer="broken-restorer-test", how="scale")


@pytest.mark.parametrize("how, words", [("raise", "failed in build(): RuntimeError: out of layers"),
                                        ("not-a-model", "returned str, not a keras.Model"),
                                        ("channels", "maps 1-channel images to images of the same shape"),
                                        ("multiple", "size_multiple() returned 0")])
def test_train_names_a_misbehaving_architecture_in_one_line_and_makes_no_file(
        runner, broken_kinds, noisy_set, tmp_path, how, words):
    out = tmp_path / "m.keras"
    result = runner.invoke(main, ["train", "--noise", "gaussian", "--data", str(noisy_set.clean),
                                  "--val-data", str(noisy_set.noisy), "--arch", "broken-arch-test", "-a", f"how={how}",
                                  "--patch", "32", "--batch", "2", "--epochs", "1", "--steps-per-epoch", "1",
                                  "--out", str(out)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "architecture 'broken-arch-test' (from dk-broken-kinds)" in lines[0], result.stderr
    assert words in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "noisy"]


def test_a_corruptions_broken_untouched_mask_is_named(broken):
    from denoisekit.plugin_guard import classical_fill, impulse_mask
    from denoisekit.plugins import PluginCallError, corruption

    obj = corruption("broken-test").obj
    noisy = np.zeros((8, 8, 1), np.float32)
    assert impulse_mask(obj, noisy) is None and classical_fill(obj, noisy) is None  # the defaults: no mask
    obj.untouched = lambda image: np.ones((4, 4), np.float32)
    with pytest.raises(PluginCallError, match="corruption 'broken-test' .* untouched\\(\\) returned float32 of shape"):
        impulse_mask(obj, noisy)
    obj.fill = lambda image: 1 / 0
    with pytest.raises(PluginCallError, match="failed in fill\\(\\): ZeroDivisionError"):
        classical_fill(obj, noisy)
