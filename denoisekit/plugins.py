"""The plugin manager: builtins and entry-point plugins, through the same hooks.

Plugins are loaded once, lazily, on first use. ``DENOISEKIT_LOAD_PLUGINS``
limits which entry-point plugins load (a comma list of entry-point or
distribution names; empty loads none); the builtins always load.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "denoisekit"
BUILTIN_PROVIDER = "denoisekit (builtin)"

#: Modules of the builtin plugins, registered exactly like third-party ones.
DEFAULT_PLUGINS = (
    "denoisekit.builtins.corruptions",
    "denoisekit.builtins.restorers",
    "denoisekit.builtins.architectures",
)

#: Plugin kinds: kind name -> the hook that registers them.
KINDS = {
    "corruption": "register_corruptions",
    "restorer": "register_restorers",
    "architecture": "register_architectures",
}


class PluginError(Exception):
    """A plugin conflict or an unknown plugin name."""


class PluginLoadWarning(UserWarning):
    """An installed plugin failed to import; the others keep working."""


@dataclass(frozen=True)
class Registered:
    """A thing a plugin registered, with the distribution that provided it."""

    kind: str
    name: str
    obj: Any
    provider: str

    @property
    def description(self) -> str:
        return getattr(self.obj, "description", "")

    @property
    def params(self) -> tuple:
        return tuple(getattr(self.obj, "params", ()))


class PluginRegistry:
    """A pluggy manager plus the name registries that its hooks fill."""

    def __init__(self, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("denoisekit")
        self.pm.add_hookspecs(hookspecs)
        self.providers: dict[str, str] = {}  # pluggy plugin name -> provider (distribution)
        for module_name in DEFAULT_PLUGINS:
            self.register(importlib.import_module(module_name), BUILTIN_PROVIDER, module_name)
        if load_entry_points:
            self._load_entry_points()
        self._tables: dict[str, dict[str, Registered]] | None = None

    def register(self, plugin: object, provider: str, name: str | None = None) -> None:
        """Register a plugin object (module or instance) under a provider name."""
        plugin_name = self.pm.register(plugin, name=name)
        self.providers[plugin_name] = provider
        self._tables = None

    def _load_entry_points(self) -> None:
        allowed = os.environ.get("DENOISEKIT_LOAD_PLUGINS")
        allow = None if allowed is None else {s.strip() for s in allowed.split(",") if s.strip()}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else ep.value
            if allow is not None and ep.name not in allow and dist not in allow:
                continue
            # One pluggy name per (distribution, entry point): a distribution may declare several
            # entry points, and two distributions may use the same entry-point name.
            plugin_name = f"{dist}:{ep.name}"
            if self.pm.has_plugin(plugin_name):
                continue  # the same distribution seen twice on sys.path
            try:
                plugin = ep.load()
            except Exception as err:  # a broken plugin must not break the others
                warnings.warn(
                    f"plugin {ep.name!r} from distribution {dist!r} failed to load and is skipped: "
                    f"{type(err).__name__}: {err}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            if self.pm.is_registered(plugin):
                continue  # two entry points naming the same module
            self.register(plugin, dist, plugin_name)

    def table(self, kind: str) -> dict[str, Registered]:
        """All registered things of one kind, by name."""
        if self._tables is None:
            self._tables = {k: self._collect(k) for k in KINDS}
        return self._tables[kind]

    def _collect(self, kind: str) -> dict[str, Registered]:
        found: dict[str, Registered] = {}
        hook = getattr(self.pm.hook, KINDS[kind])
        # Call each implementation on its own so every registration knows its provider.
        for impl in reversed(hook.get_hookimpls()):
            provider = self.providers.get(impl.plugin_name, impl.plugin_name)

            def register(obj: object, _provider: str = provider) -> None:
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"{_provider} registered a {kind} without a name: {obj!r}")
                if name in found:
                    raise PluginError(
                        f"two plugins register the {kind} {name!r}: {found[name].provider} and {_provider}; "
                        f"uninstall one of them"
                    )
                found[name] = Registered(kind, name, obj, _provider)

            impl.function(register=register)
        return found

    def get(self, kind: str, name: str) -> Registered:
        """Look up one registered thing; an unknown name lists the known ones."""
        table = self.table(kind)
        if name not in table:
            known = ", ".join(sorted(table)) or "none installed"
            raise PluginError(f"no {kind} named {name!r} (installed: {known})")
        return table[name]

    def all(self) -> list[Registered]:
        return [r for kind in KINDS for r in self.table(kind).values()]


_registry: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process-wide registry, built on first use."""
    global _registry
    if _registry is None:
        _registry = PluginRegistry()
    return _registry


def reset_registry() -> None:
    """Forget the loaded plugins (tests; after installing a plugin in-process)."""
    global _registry
    _registry = None


class PluginCallError(PluginError, ValueError):
    """A plugin that raised, or broke its contract, when called; the message names it."""


def describe(kind: str, obj: object) -> str:
    """``corruption 'name' (from distribution)``, for messages about a plugin's behaviour."""
    name = getattr(obj, "name", type(obj).__name__)
    found = get_registry().table(kind).get(name) if isinstance(name, str) else None
    provider = f" (from {found.provider})" if found is not None and found.obj is obj else ""
    return f"{kind} {name!r}{provider}"


def debugging() -> bool:
    """``DENOISEKIT_DEBUG=1``: let a plugin's own exception and traceback through."""
    return os.environ.get("DENOISEKIT_DEBUG", "") not in ("", "0")


def corruption(name: str) -> Registered:
    return get_registry().get("corruption", name)


def restorer(name: str) -> Registered:
    return get_registry().get("restorer", name)


def architecture(name: str) -> Registered:
    return get_registry().get("architecture", name)


RegisterFn = Callable[[object], None]
