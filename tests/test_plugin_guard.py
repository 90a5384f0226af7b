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
    params = (denoisekit.Param("how", "str", "raise", choices=("raise", "shape", "nan")),)

    def apply(self, images, seed, how="raise"):
        import tensorflow as tf

        if how == "raise":
            raise RuntimeError("the noise generator is out of noise")
        if how == "shape":
            return images[:, :, : tf.shape(images)[2] // 2]  # half the width
        return images * np.float32("nan")


class BrokenPlugin:
    @denoisekit.hookimpl
    def register_corruptions(self, register):
        register(Broken())


@pytest.fixture
def broken():
    get_registry().register(BrokenPlugin(), "dk-broken-test", "broken-test")


@pytest.mark.parametrize("how, words", [("raise", "failed: RuntimeError: the noise generator is out of noise"),
                                        ("shape", "returned shape"), ("nan", "NaN or infinite")])
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


@pytest.mark.parametrize("how", ["raise", "shape"])
def test_train_stops_on_a_broken_corruption_before_making_any_file(runner, broken, noisy_set, tmp_path, how):
    out = tmp_path / "m.keras"
    result = runner.invoke(main, ["train", "--noise", "broken-test", "-p", f"how={how}", "--data", str(noisy_set.clean),
                                  "--val-data", str(noisy_set.clean), "--arch", "dncnn", "-a", "depth=3",
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
