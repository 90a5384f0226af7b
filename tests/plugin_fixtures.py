"""Build and really install tiny third-party plugin distributions for tests.

A plugin distribution here is a real project (``pyproject.toml`` with
``[project.entry-points.denoisekit]``) installed by pip into a private folder
(``--target``); putting that folder on ``PYTHONPATH`` (subprocesses) or
``sys.path`` (in-process, ``monkeypatch.syspath_prepend``) makes
``importlib.metadata`` discover its entry points exactly as for a user's install.

Typical use::

    from plugin_fixtures import corruption_plugin_source, install_plugins, plugin_project

    site = install_plugins(tmp_path, [
        plugin_project(tmp_path, "dk-invert", corruption_plugin_source("invert-test")),
        plugin_project(tmp_path, "dk-broken", BROKEN_PLUGIN_SOURCE),
    ])
    result = run_denoisekit(["plugins", "--json"], site)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Mapping, Sequence

#: A plugin module that fails on import (the others must keep working).
BROKEN_PLUGIN_SOURCE = 'raise RuntimeError("this plugin is broken on purpose")\n'


def corruption_plugin_source(name: str = "invert-test", description: str = "Inverts the image (test plugin).",
                             class_name: str = "TestCorruption") -> str:
    """Source of a plugin module registering one corruption ``name``: it inverts the
    image and blends toward the inverse by the declared float parameter ``strength``
    (0..1, default 1.0), written with TensorFlow ops only (it also runs in tf.data)."""
    return textwrap.dedent(
        f'''
        """A test plugin for denoisekit."""
        import denoisekit


        class {class_name}(denoisekit.Corruption):
            name = {name!r}
            description = {description!r}
            params = (denoisekit.Param("strength", "float", 1.0, 0.0, 1.0, help="blend toward the inverse"),)

            def apply(self, images, seed, strength=1.0):
                return images + (1.0 - 2.0 * images) * strength


        @denoisekit.hookimpl
        def register_corruptions(register):
            register({class_name}())
        '''
    ).lstrip()


def module_name_for(dist_name: str) -> str:
    return dist_name.replace("-", "_").replace(".", "_")


def plugin_project(
    root: Path,
    dist_name: str,
    source: str | None = None,
    *,
    modules: Mapping[str, str] | None = None,
    entry_points: Mapping[str, str] | None = None,
    version: str = "0.1.0",
) -> Path:
    """Write a plugin project under ``root/projects/<dist_name>`` and return its folder.

    Either ``source`` (one module named after the distribution, with an entry point of
    the same name) or ``modules`` (module name -> source text) plus ``entry_points``
    (entry-point name -> ``module`` or ``module:object``; default one per module).
    """
    if (source is None) == (modules is None):
        raise ValueError("give either source or modules")
    if source is not None:
        modules = {module_name_for(dist_name): source}
    assert modules is not None
    if entry_points is None:
        entry_points = {name: name for name in modules}
    project = Path(root) / "projects" / dist_name
    project.mkdir(parents=True)
    eps = "\n".join(f'{key} = "{value}"' for key, value in entry_points.items())
    py_modules = ", ".join(f'"{name}"' for name in modules)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist_name}"
            version = "{version}"
            description = "A denoisekit test plugin"

            [project.entry-points.denoisekit]
            """
        ).lstrip()
        + eps
        + f"\n\n[tool.setuptools]\npy-modules = [{py_modules}]\n"
    )
    for name, text in modules.items():
        (project / f"{name}.py").write_text(text)
    return project


def install_plugins(root: Path, projects: Sequence[Path], site_name: str = "site") -> Path:
    """``pip install --no-deps --no-build-isolation --target root/<site_name>`` the projects
    (one pip run) and return the folder to put on the path."""
    site = Path(root) / site_name
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--disable-pip-version-check", "--target", str(site), *map(str, projects),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"pip failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return site


def install_plugin(root: Path, dist_name: str, source: str, site_name: str | None = None) -> Path:
    """Build and install one single-module plugin distribution; return its site folder."""
    project = plugin_project(root, dist_name, source)
    return install_plugins(root, [project], site_name or f"site-{dist_name}")


def plugin_env(site: Path | None = None, load: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a subprocess that sees the plugins installed in ``site``.

    ``load`` sets ``DENOISEKIT_LOAD_PLUGINS`` (None: unset, all plugins load)."""
    env = dict(os.environ)
    env.pop("DENOISEKIT_LOAD_PLUGINS", None)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if load is not None:
        env["DENOISEKIT_LOAD_PLUGINS"] = load
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.update(extra)
    return env


def denoisekit_command() -> list[str]:
    """The installed ``denoisekit`` console script of this interpreter's environment
    (``python -m denoisekit`` when there is none)."""
    script = Path(sys.executable).parent / "denoisekit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "denoisekit"]


def run_denoisekit(args: Sequence[str], site: Path | None = None, load: str | None = None, cwd: Path | None = None,
                   timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the ``denoisekit`` command line in a subprocess with ``site``'s plugins visible."""
    return subprocess.run(
        [*denoisekit_command(), *map(str, args)], capture_output=True, text=True,
        env=plugin_env(site, load), cwd=cwd, timeout=timeout,
    )
