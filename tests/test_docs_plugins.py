"""docs/plugins.md stays true: it covers every hook, and its examples install and run.

Code blocks the tests use are marked in the markdown with an HTML comment on the
line before the fence: ``<!-- minimal-plugin: FILENAME -->`` for the files of the
minimal plugin, ``<!-- doc-example: NAME -->`` for other runnable examples.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import denoisekit.plugins
from denoisekit import hookspecs
from denoisekit.cli import main
from denoisekit.params import resolve_params
from denoisekit.plugins import PluginRegistry

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
MARKED_BLOCK = re.compile(r"<!-- (minimal-plugin|doc-example): (\S+) -->[ \t]*\n```[\w-]*\n(.*?)^```", re.S | re.M)
MAX_MINIMAL_LINES = 30


def marked_blocks(kind: str) -> dict[str, str]:
    """The guide's code blocks marked as ``kind``, by their name."""
    return {name: code for k, name, code in MARKED_BLOCK.findall(GUIDE.read_text()) if k == kind}


def hookspec_names() -> list[str]:
    marker = f"{hookspecs.hookspec.project_name}_spec"
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, marker)]


def run_example(name: str) -> types.ModuleType:
    """Execute one marked example as a module of its own."""
    module = types.ModuleType(f"docs_example_{name.replace('-', '_')}")
    exec(compile(marked_blocks("doc-example")[name], f"{GUIDE}:{name}", "exec"), module.__dict__)
    return module


def written_signature(name: str) -> str:
    """A hookspec's signature as the guide writes it: ``hook(register: Callable[[object], None]) -> None``."""
    text = lambda a: a if isinstance(a, str) else inspect.formatannotation(a)  # noqa: E731
    signature = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {text(p.annotation)}" for p in signature.parameters.values())
    return f"{name}({params}) -> {text(signature.return_annotation)}"


def test_every_hook_is_documented_with_its_signature():
    names = hookspec_names()
    assert {"register_corruptions", "register_restorers", "register_architectures"} <= set(names)
    text = GUIDE.read_text()
    for name in names:
        assert written_signature(name) in text, f"docs/plugins.md lacks {written_signature(name)}"


def test_minimal_plugin_is_complete_and_short():
    files = marked_blocks("minimal-plugin")
    assert set(files) == {"pyproject.toml", "denoisekit_speckle.py"}
    lines = sum(len(code.rstrip("\n").splitlines()) for code in files.values())
    assert lines < MAX_MINIMAL_LINES, f"the minimal plugin has {lines} lines"
    assert 'speckle = "denoisekit_speckle"' in files["pyproject.toml"]


@pytest.fixture(scope="module")
def installed_minimal_plugin(tmp_path_factory) -> Path:
    """The guide's minimal plugin, pip-installed into a folder of its own."""
    source = tmp_path_factory.mktemp("denoisekit-speckle")
    for filename, code in marked_blocks("minimal-plugin").items():
        (source / filename).write_text(code)
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)]
    if importlib.util.find_spec("setuptools") is not None:  # else let pip fetch setuptools to build it
        command.insert(4, "--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


@pytest.mark.slow
def test_minimal_plugin_installs_and_corrupts_through_the_cli(installed_minimal_plugin, tmp_path):
    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    clean.mkdir()
    cv2.imwrite(str(clean / "gray.png"), np.full((24, 32), 128, np.uint8))
    cv2.imwrite(str(clean / "rgb.png"), np.full((24, 32, 3), 90, np.uint8))
    env = {k: v for k, v in os.environ.items() if k != "DENOISEKIT_LOAD_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(installed_minimal_plugin), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "denoisekit", "corrupt", str(clean), str(noisy),
               "--noise", "speckle", "-p", "sigma=0.3", "--seed", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    gray = cv2.imread(str(noisy / "gray.png"), cv2.IMREAD_UNCHANGED).astype(float)
    rgb = cv2.imread(str(noisy / "rgb.png"), cv2.IMREAD_UNCHANGED).astype(float)
    assert gray.shape == (24, 32) and rgb.shape == (24, 32, 3)
    assert gray.std() / 128 == pytest.approx(0.3, rel=0.3) and rgb.std() / 90 == pytest.approx(0.3, rel=0.3)


def test_minimal_plugin_is_listed_with_its_distribution(installed_minimal_plugin, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_minimal_plugin))
    monkeypatch.setenv("DENOISEKIT_LOAD_PLUGINS", "denoisekit-speckle")
    denoisekit.plugins.reset_registry()
    result = CliRunner().invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    listed = {e["name"]: e for e in json.loads(result.stdout) if e["provider"] != denoisekit.plugins.BUILTIN_PROVIDER}
    assert list(listed) == ["speckle"]
    assert listed["speckle"]["provider"] == "denoisekit-speckle"
    assert listed["speckle"]["params"][0]["name"] == "sigma"


def test_testing_section_examples_pass(installed_minimal_plugin, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(installed_minimal_plugin))
    run_example("unit-test").test_same_seed_same_noise()
    run_example("inline-test").test_registered_and_usable_from_the_cli(monkeypatch, tmp_path)


def test_restorer_example_filters_gray_and_rgb():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(run_example("restorer"), "docs-example")
    found = registry.get("restorer", "opencv-bilateral")
    restore = found.obj.make(**resolve_params(found.params, ["sigma_color=60"], "restorer"))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:64] / 64.0
    for channels in (1, 3):
        clean = np.repeat((0.3 + 0.4 * xx * yy)[..., None], channels, axis=-1).astype(np.float32)
        noisy = np.clip(clean + rng.normal(0, 0.08, clean.shape), 0, 1).astype(np.float32)
        out = restore(noisy)
        assert out.shape == clean.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
        assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_architecture_example_builds_any_size_and_reloads_in_safe_mode(tmp_path):
    import keras

    registry = PluginRegistry(load_entry_points=False)
    registry.register(run_example("architecture"), "docs-example")
    found = registry.get("architecture", "tiny-residual")
    for channels in (1, 3):
        model = found.obj.build(channels, **resolve_params(found.params, ["features=8", "depth=3"], "arch"))
        assert model.input_shape == (None, None, None, channels)  # fully convolutional: any (H, W)
        batch = np.random.default_rng(channels).random((2, 20, 28, channels), dtype=np.float32)
        out = np.asarray(model(batch))
        assert out.shape == batch.shape and 0.0 <= out.min() and out.max() <= 1.0
        path = tmp_path / f"tiny-{channels}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_allclose(np.asarray(loaded(batch)), out, atol=1e-6)
