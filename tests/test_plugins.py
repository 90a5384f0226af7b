"""The plugin registry: builtins through the hooks, third-party plugins through entry points."""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
from plugin_fixtures import (
    BROKEN_PLUGIN_SOURCE,
    corruption_plugin_source,
    install_plugins,
    plugin_project,
    run_denoisekit,
)

import denoisekit
from denoisekit import plugins as plugins_module
from denoisekit.cli import main
from denoisekit.noise_ops import apply_corruption
from denoisekit.plugins import (
    BUILTIN_PROVIDER,
    PluginError,
    PluginLoadWarning,
    PluginRegistry,
    corruption,
    get_registry,
    reset_registry,
)

BUILTIN_CORRUPTIONS = {"gaussian", "salt-and-pepper", "grayscale"}


# --------------------------------------------------------------------------- builtins and inline plugins


def test_builtins_are_registered_through_the_hooks():
    registry = PluginRegistry(load_entry_points=False)
    table = registry.table("corruption")
    assert set(table) == BUILTIN_CORRUPTIONS
    for name in BUILTIN_CORRUPTIONS:
        assert table[name].provider == BUILTIN_PROVIDER == "denoisekit (builtin)"
        assert table[name].kind == "corruption" and table[name].description
    # they come from the hook implementation of the builtin module, like any plugin's
    impls = registry.pm.hook.register_corruptions.get_hookimpls()
    assert "denoisekit.builtins.corruptions" in [i.plugin_name for i in impls]
    assert {r.name for r in get_registry().all() if r.kind == "corruption"} >= BUILTIN_CORRUPTIONS


def test_the_process_registry_is_built_once_and_reset_on_demand():
    first = get_registry()
    assert get_registry() is first
    reset_registry()
    assert get_registry() is not first


class Speckle(denoisekit.Corruption):
    name = "speckle-inline"
    description = "Multiplicative noise (inline test plugin)."
    params = (denoisekit.Param("scale", "float", 0.2, 0, 1),)

    def apply(self, images, seed, scale=0.2):
        import tensorflow as tf

        return tf.clip_by_value(images * (1.0 + scale * tf.random.stateless_normal(tf.shape(images), seed)), 0.0, 1.0)


class InlinePlugin:
    @denoisekit.hookimpl
    def register_corruptions(self, register):
        register(Speckle())


def test_an_inline_plugin_adds_a_corruption():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(InlinePlugin(), "speckle-dist")
    found = registry.get("corruption", "speckle-inline")
    assert found.provider == "speckle-dist"
    assert found.params == Speckle.params and found.description.startswith("Multiplicative")
    assert set(registry.table("corruption")) == BUILTIN_CORRUPTIONS | {"speckle-inline"}
    image = np.full((16, 16, 1), 0.5, np.float32)
    noisy = apply_corruption(found.obj, image, {"scale": 0.2}, seed=1)
    assert noisy.shape == image.shape and not np.allclose(noisy, image)


def test_an_unknown_name_lists_the_installed_ones():
    registry = PluginRegistry(load_entry_points=False)
    with pytest.raises(PluginError) as info:
        registry.get("corruption", "poisson-typo")
    message = str(info.value)
    assert "'poisson-typo'" in message
    for name in BUILTIN_CORRUPTIONS:
        assert name in message


def _plugin_registering(*names):
    class Plugin:
        @denoisekit.hookimpl
        def register_corruptions(self, register):
            for name in names:
                obj = Speckle()
                obj.name = name
                register(obj)

    return Plugin()


def _plugin_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, PluginLoadWarning)]


def _build_warning_tables(registry) -> list[str]:
    """Build every kind's table; return the PluginLoadWarning messages that came with it."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        registry.all()
    return _plugin_warnings(record)


def test_two_plugins_registering_one_name_both_skipped_with_a_warning_naming_both():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_plugin_registering("speckle", "alpha-only"), "alpha-noise")
    registry.register(_plugin_registering("speckle"), "beta-noise")
    messages = _build_warning_tables(registry)
    assert len(messages) == 1 and "\n" not in messages[0]
    assert "'speckle'" in messages[0] and "alpha-noise" in messages[0] and "beta-noise" in messages[0]
    assert "uninstall one" in messages[0]
    # neither is used (nobody silently gets the wrong one); everything else works
    assert set(registry.table("corruption")) == BUILTIN_CORRUPTIONS | {"alpha-only"}
    with pytest.raises(PluginError) as info:
        registry.get("corruption", "speckle")
    assert "alpha-noise" in str(info.value) and "beta-noise" in str(info.value)
    assert registry.get("corruption", "gaussian").provider == BUILTIN_PROVIDER


def test_three_plugins_and_one_plugin_twice_on_one_name():
    registry = PluginRegistry(load_entry_points=False)
    for dist in ("a-noise", "b-noise", "c-noise"):
        registry.register(_plugin_registering("speckle"), dist)
    registry.register(_plugin_registering("twice", "twice"), "d-noise")
    messages = _build_warning_tables(registry)
    assert len(messages) == 2
    assert any("3 plugins" in m and all(d in m for d in ("a-noise", "b-noise", "c-noise")) for m in messages)
    assert any("'twice'" in m and "d-noise" in m and "2 times" in m for m in messages)
    assert set(registry.table("corruption")) == BUILTIN_CORRUPTIONS


def test_a_plugin_taking_a_builtin_name_is_skipped_and_the_builtin_kept():
    from denoisekit.builtins.corruptions import Gaussian

    registry = PluginRegistry(load_entry_points=False)
    registry.register(_plugin_registering("gaussian", "my-extra"), "my-gaussian")
    messages = _build_warning_tables(registry)
    assert len(messages) == 1
    assert "'gaussian'" in messages[0] and "my-gaussian" in messages[0] and BUILTIN_PROVIDER in messages[0]
    found = registry.get("corruption", "gaussian")
    assert found.provider == BUILTIN_PROVIDER and isinstance(found.obj, Gaussian)
    assert registry.get("corruption", "my-extra").provider == "my-gaussian"  # its other registrations stay


@pytest.mark.parametrize("bad_name", ["", "   ", None, 7])
def test_a_registration_without_a_usable_name_is_skipped_with_a_warning(bad_name):
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_plugin_registering(bad_name, "named-fine"), "nameless-dist")
    messages = _build_warning_tables(registry)
    assert len(messages) == 1 and "nameless-dist" in messages[0] and "name" in messages[0]
    assert set(registry.table("corruption")) == BUILTIN_CORRUPTIONS | {"named-fine"}


class Thing:
    """A restorer that registers fine."""

    name = "good-thing"
    description = "Returns its input (test plugin)."
    params = ()

    def make(self):
        return lambda image: image


class RaisingPlugin:
    @denoisekit.hookimpl
    def register_restorers(self, register):
        register(Thing())  # registered before the raise: dropped with the rest of the hook
        raise RuntimeError("boom")

    @denoisekit.hookimpl
    def register_corruptions(self, register):
        register(_named_speckle("from-raising"))


def _named_speckle(name):
    obj = Speckle()
    obj.name = name
    return obj


def test_a_hook_that_raises_is_skipped_with_a_warning_naming_the_plugin():
    registry = PluginRegistry(load_entry_points=False)
    registry.register(RaisingPlugin(), "dk-raising", "raising")
    registry.register(InlinePlugin(), "speckle-dist")
    messages = _build_warning_tables(registry)
    assert len(messages) == 1 and "\n" not in messages[0]
    assert "'raising'" in messages[0] and "dk-raising" in messages[0]
    assert "register_restorers" in messages[0] and "RuntimeError: boom" in messages[0]
    restorers = registry.table("restorer")
    assert "good-thing" not in restorers and "median" in restorers and restorers["median"].provider == BUILTIN_PROVIDER
    # its other hooks, the builtins and the other plugins keep working
    assert set(registry.table("corruption")) == BUILTIN_CORRUPTIONS | {"speckle-inline", "from-raising"}
    assert registry.get("architecture", "unet").provider == BUILTIN_PROVIDER


def test_denoisekit_debug_lets_a_raising_hook_through(monkeypatch):
    monkeypatch.setenv("DENOISEKIT_DEBUG", "1")
    registry = PluginRegistry(load_entry_points=False)
    registry.register(RaisingPlugin(), "dk-raising")
    with pytest.raises(RuntimeError, match="boom"):
        registry.table("restorer")


BAD_PARAMS = {
    "not-a-float": ((denoisekit.Param("level", "float", "loud", 0, 1),), "'level'"),
    "not-an-int": ((denoisekit.Param("count", "int", 2.5),), "'count'"),
    "bool-for-int": ((denoisekit.Param("count", "int", True),), "'count'"),
    "out-of-bounds": ((denoisekit.Param("far", "float", 99.0, 0, 1),), "'far'"),
    "nan": ((denoisekit.Param("nan", "float", float("nan")),), "'nan'"),
    "not-a-choice": ((denoisekit.Param("mode", "str", "zzz", choices=("a", "b")),), "'mode'"),
    "not-a-bool": ((denoisekit.Param("clip", "bool", "yes"),), "'clip'"),
    "reversed-range": ((denoisekit.Param("sigma", "range", (9.0, 1.0), 0, 10),), "'sigma'"),
    "min-above-max": ((denoisekit.Param("lim", "float", None, 5, 1),), "'lim'"),
    "int-choices": ((denoisekit.Param("k", "int", 1, choices=(1, 2)),), "'k'"),
    "help-not-text": ((denoisekit.Param("h", "float", 1.0, help=None),), "'h'"),
    "duplicate": ((denoisekit.Param("d", "float", 1.0), denoisekit.Param("d", "int", 1)), "'d'"),
    "bad-param-name": ((denoisekit.Param("a=b", "float", 1.0),), "'a=b'"),
    "strings-not-params": (["sigma"], "'sigma'"),
    "not-a-sequence": ("sigma", "'sigma'"),
}


def _plugin_with_params(params):
    class Plugin:
        @denoisekit.hookimpl
        def register_corruptions(self, register):
            bad = _named_speckle("badly-declared")
            bad.params = params
            register(bad)
            register(_named_speckle("well-declared"))

    return Plugin()


@pytest.mark.parametrize("case", sorted(BAD_PARAMS))
def test_badly_declared_params_skip_the_object_with_a_warning_naming_plugin_and_param(case, runner, monkeypatch):
    params, words = BAD_PARAMS[case]
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_plugin_with_params(params), "dk-params")
    messages = _build_warning_tables(registry)
    assert len(messages) == 1 and "\n" not in messages[0]
    assert "dk-params" in messages[0] and "'badly-declared'" in messages[0] and words in messages[0]
    assert set(registry.table("corruption")) == BUILTIN_CORRUPTIONS | {"well-declared"}

    monkeypatch.setattr(plugins_module, "_registry", registry)
    registry._tables = None  # build again, so the CLI shows the warning
    for args in (["plugins"], ["plugins", "--json"]):
        listed = runner.invoke(main, args)
        assert listed.exit_code == 0, listed.output
        assert "well-declared" in listed.stdout and "badly-declared" not in listed.stdout
        assert "gaussian" in listed.stdout


@pytest.mark.parametrize("params", [
    (),
    [denoisekit.Param("sigma", "range", 25, 0, 255)],  # a list, an int default for a float type
    (denoisekit.Param("sigma", "range", (5, 50.0), 0, 255), denoisekit.Param("auto")),  # None: no default
    (denoisekit.Param("mode", "str", "a", choices=("a", "b")), denoisekit.Param("clip", "bool", False),
     denoisekit.Param("n", "int", 3, 1), denoisekit.Param("x", "float", -1e9, max=0)),
])
def test_well_declared_params_register(params):
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_plugin_with_params(params), "dk-params")
    assert _build_warning_tables(registry) == []
    assert registry.get("corruption", "badly-declared").params == tuple(params)


# --------------------------------------------------------------------------- really installed distributions


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    """Four real distributions, installed by pip into one folder:

    - dk-invert: one corruption ``invert-test``
    - dk-broken: its module raises on import
    - dk-multi: two entry points (two modules), each registering a corruption
    - dk-same-ep: entry point named ``dk_invert`` like dk-invert's, a different corruption
    """
    root = tmp_path_factory.mktemp("plugins")
    projects = [
        plugin_project(root, "dk-invert", corruption_plugin_source("invert-test")),
        plugin_project(root, "dk-broken", BROKEN_PLUGIN_SOURCE),
        plugin_project(
            root, "dk-multi",
            modules={"dk_multi_a": corruption_plugin_source("multi-a"), "dk_multi_b": corruption_plugin_source("multi-b")},
            entry_points={"multi-a": "dk_multi_a", "multi-b": "dk_multi_b"},
        ),
        plugin_project(
            root, "dk-same-ep", modules={"dk_same_ep": corruption_plugin_source("same-ep-test")},
            entry_points={"dk_invert": "dk_same_ep"},
        ),
    ]
    return install_plugins(root, projects)


@pytest.fixture
def on_path(plugin_site, monkeypatch):
    """Make the installed test distributions visible to this process; returns a function
    that sets DENOISEKIT_LOAD_PLUGINS (None: unset) and builds a fresh registry."""
    monkeypatch.syspath_prepend(str(plugin_site))

    def load(allowed):
        if allowed is None:
            monkeypatch.delenv("DENOISEKIT_LOAD_PLUGINS", raising=False)
        else:
            monkeypatch.setenv("DENOISEKIT_LOAD_PLUGINS", allowed)
        reset_registry()
        return get_registry()

    return load


def _third_party(registry):
    return {r.name: r.provider for r in registry.all() if r.provider != BUILTIN_PROVIDER}


def test_an_installed_distribution_is_discovered_through_its_entry_point(on_path):
    registry = on_path("dk-invert")
    found = corruption("invert-test")
    assert found.provider == "dk-invert"  # the distribution's name
    assert set(registry.table("corruption")) >= BUILTIN_CORRUPTIONS | {"invert-test"}
    image = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4, 1)
    np.testing.assert_allclose(apply_corruption(found.obj, image, {"strength": 1.0}, seed=0), 1.0 - image, atol=1e-6)


def test_a_plugin_that_fails_to_import_warns_naming_its_distribution(on_path):
    with pytest.warns(PluginLoadWarning) as caught:
        registry = on_path("dk-invert,dk-broken")
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert len(messages) == 1
    assert "dk-broken" in messages[0] and "broken on purpose" in messages[0]
    # the others keep working
    assert _third_party(registry) == {"invert-test": "dk-invert"}
    assert set(registry.table("corruption")) >= BUILTIN_CORRUPTIONS


@pytest.mark.parametrize(
    "allowed, expected",
    [
        ("", {}),  # empty: no entry-point plugins, builtins only
        ("dk-invert", {"invert-test": "dk-invert"}),  # by distribution name
        ("multi-b", {"multi-b": "dk-multi"}),  # by entry-point name
        (" dk-invert , multi-a ", {"invert-test": "dk-invert", "multi-a": "dk-multi"}),
        ("no-such-plugin", {}),
    ],
)
def test_denoisekit_load_plugins_filters(on_path, allowed, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginLoadWarning)  # dk-broken is never loaded here
        registry = on_path(allowed)
        assert _third_party(registry) == expected
        assert set(registry.table("corruption")) >= BUILTIN_CORRUPTIONS


def test_every_entry_point_of_a_distribution_loads(on_path):
    registry = on_path("dk-multi")
    assert _third_party(registry) == {"multi-a": "dk-multi", "multi-b": "dk-multi"}


def test_distributions_that_reuse_an_entry_point_name_both_load(on_path):
    registry = on_path("dk-invert,dk-same-ep")
    assert _third_party(registry) == {"invert-test": "dk-invert", "same-ep-test": "dk-same-ep"}


def test_without_a_filter_all_installed_plugins_load(on_path):
    with pytest.warns(PluginLoadWarning, match="dk-broken"):
        registry = on_path(None)
    assert set(_third_party(registry).items()) >= {
        ("invert-test", "dk-invert"), ("multi-a", "dk-multi"), ("multi-b", "dk-multi"), ("same-ep-test", "dk-same-ep"),
    }


def test_the_cli_lists_an_in_process_plugin(on_path, runner):
    on_path("dk-invert")
    result = runner.invoke(main, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert entries["invert-test"]["provider"] == "dk-invert"
    assert entries["invert-test"]["params"][0] == {
        "name": "strength", "type": "float", "default": 1.0, "min": 0.0, "max": 1.0, "choices": None,
        "help": "blend toward the inverse",
    }


# --------------------------------------------------------------------------- the real command line, in a subprocess


@pytest.mark.slow
def test_installed_plugins_in_the_real_cli(plugin_site, tmp_path, write_pixels):
    """The console script, in a fresh process, with the test distributions on PYTHONPATH
    and no DENOISEKIT_LOAD_PLUGINS: the working plugins are listed and usable, the
    broken one is reported by its distribution's name and takes nothing down."""
    listed = run_denoisekit(["plugins", "--json"], plugin_site)
    assert listed.returncode == 0, listed.stderr
    entries = {(e["kind"], e["name"]): e for e in json.loads(listed.stdout)}
    assert entries[("corruption", "invert-test")]["provider"] == "dk-invert"
    assert entries[("corruption", "invert-test")]["params"][0]["name"] == "strength"
    assert entries[("corruption", "multi-b")]["provider"] == "dk-multi"
    for name in BUILTIN_CORRUPTIONS:
        assert entries[("corruption", name)]["provider"] == BUILTIN_PROVIDER
    warned = listed.stderr.strip().splitlines()
    assert len(warned) == 1 and warned[0].startswith("warning: plugin") and "dk-broken" in warned[0]
    assert "Traceback" not in listed.stderr

    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5
    write_pixels(tmp_path / "in" / "a.png", pixels)
    done = run_denoisekit(["corrupt", tmp_path / "in", tmp_path / "out", "--noise", "invert-test", "-p", "strength=1"],
                          plugin_site)
    assert done.returncode == 0, done.stderr
    assert "1 written" in done.stderr and "dk-broken" in done.stderr
    written = cv2.cvtColor(cv2.imread(str(tmp_path / "out" / "a.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(written, 255 - pixels)


def test_plugin_conflicts_reach_the_user_as_one_warning_line_and_the_rest_works(
        runner, monkeypatch, tmp_path, write_pixels):
    registry = PluginRegistry(load_entry_points=False)
    registry.register(_plugin_registering("grayscale"), "dk-colorless")
    registry.register(_plugin_registering("speckle"), "alpha-noise")
    registry.register(_plugin_registering("speckle"), "beta-noise")
    monkeypatch.setattr(plugins_module, "_registry", registry)
    listed = runner.invoke(main, ["plugins"])
    assert listed.exit_code == 0, listed.output
    warned = [line for line in listed.stderr.splitlines() if line.strip()]
    assert len(warned) == 2 and all(line.startswith("warning: ") for line in warned), warned
    assert any("'grayscale'" in w and "dk-colorless" in w and BUILTIN_PROVIDER in w for w in warned)
    assert any("'speckle'" in w and "alpha-noise" in w and "beta-noise" in w for w in warned)
    assert "Traceback" not in listed.output
    assert f"corruption grayscale  [{BUILTIN_PROVIDER}]" in listed.stdout and "dk-colorless" not in listed.stdout
    assert "speckle" not in listed.stdout

    write_pixels(tmp_path / "in" / "a.png", np.full((4, 4, 3), 200, np.uint8))
    done = runner.invoke(main, ["corrupt", str(tmp_path / "in"), str(tmp_path / "out"), "--noise", "grayscale"])
    assert done.exit_code == 0, done.output  # the builtin, not the plugin's
    assert (tmp_path / "out" / "a.png").exists()

    clashed = runner.invoke(main, ["corrupt", str(tmp_path / "in"), str(tmp_path / "out2"), "--noise", "speckle"])
    assert clashed.exit_code == 2 and "Traceback" not in clashed.output
    assert "alpha-noise" in clashed.stderr and "beta-noise" in clashed.stderr


def test_a_raising_hook_is_one_warning_line_in_the_cli(runner, monkeypatch, tmp_path, write_pixels):
    registry = PluginRegistry(load_entry_points=False)
    registry.register(RaisingPlugin(), "dk-raising", "raising")
    monkeypatch.setattr(plugins_module, "_registry", registry)
    listed = runner.invoke(main, ["plugins", "--json"])
    assert listed.exit_code == 0, listed.output
    warned = [line for line in listed.stderr.splitlines() if line.strip()]
    assert len(warned) == 1 and warned[0].startswith("warning: plugin 'raising'") and "dk-raising" in warned[0]
    names = {(e["kind"], e["name"]) for e in json.loads(listed.stdout)}
    assert ("restorer", "median") in names and ("corruption", "from-raising") in names
    assert ("restorer", "good-thing") not in names

    write_pixels(tmp_path / "in" / "a.png", np.full((4, 4, 3), 200, np.uint8))
    done = runner.invoke(main, ["corrupt", str(tmp_path / "in"), str(tmp_path / "out"), "--noise", "gaussian"])
    assert done.exit_code == 0, done.output


def test_the_cli_shows_a_plugin_that_fails_to_import_as_one_warning_line(plugin_site, monkeypatch, runner):
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.setenv("DENOISEKIT_LOAD_PLUGINS", "dk-invert,dk-broken")
    reset_registry()
    result = runner.invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # no file:line prefix, no stray source line
    assert lines[0].startswith("warning: plugin") and "dk-broken" in lines[0] and "broken on purpose" in lines[0]
    assert "invert-test" in result.stdout  # the others still load
