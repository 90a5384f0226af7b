"""The plugin manager: builtins and entry-point plugins, through the same hooks.

Plugins are loaded once, lazily, on first use. ``DENOISEKIT_LOAD_PLUGINS``
limits which entry-point plugins load (a comma list of entry-point or
distribution names; empty loads none); the builtins always load.

A plugin never takes the others down: one that fails to import, whose hook raises, or that
registers something unusable (no name, a taken name, ill-declared ``params``) is skipped with
a one-line ``PluginLoadWarning`` naming it and its distribution, and everything else works.
A builtin keeps its name against any plugin; a name that two plugins claim is used by neither
(looking it up is an error naming both), so nobody silently gets the wrong one.
"""

from __future__ import annotations

import importlib
import math
import os
import reprlib
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

import pluggy

from . import hookspecs
from .params import PARAM_TYPES, Param, ParamError

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
    """An installed plugin failed to import, its hook raised, or it registered something
    unusable; that part of it is skipped and the others keep working."""


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
        self.labels: dict[str, str] = {}  # pluggy plugin name -> "plugin 'x' from distribution 'y'"
        for module_name in DEFAULT_PLUGINS:
            self.register(importlib.import_module(module_name), BUILTIN_PROVIDER, module_name)
        if load_entry_points:
            self._load_entry_points()
        self._tables: dict[str, dict[str, Registered]] | None = None
        self._clashes: dict[str, dict[str, list[Registered]]] = {}  # kind -> name -> its claimants

    def register(self, plugin: object, provider: str, name: str | None = None) -> None:
        """Register a plugin object (module or instance) under a provider name."""
        plugin_name = self.pm.register(plugin, name=name)
        self.providers[plugin_name] = provider
        # How warnings name it: the entry point (or the name given, or a module's name) and the provider.
        shown = name if name is not None else getattr(plugin, "__name__", None)
        if isinstance(shown, str) and shown.startswith(f"{provider}:"):
            shown = shown[len(provider) + 1:]
        self.labels[plugin_name] = (f"plugin {shown!r} from distribution {provider!r}" if isinstance(shown, str)
                                    else f"plugin from distribution {provider!r}")
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
        """All usable registered things of one kind, by name."""
        if self._tables is None:
            self._clashes = {k: {} for k in KINDS}
            self._tables = {k: self._collect(k) for k in KINDS}
        return self._tables[kind]

    def _collect(self, kind: str) -> dict[str, Registered]:
        """Call each implementation of the kind's hook on its own, so every registration knows its
        provider; skip, with a warning, a hook that raises (all it registered), an unusable object,
        a plugin's object taking a builtin's name, and every object of a name two plugins claim."""
        hook_name = KINDS[kind]
        impls = sorted(getattr(self.pm.hook, hook_name).get_hookimpls(),  # in registration order (tryfirst last),
                       key=lambda impl: self.providers.get(impl.plugin_name) != BUILTIN_PROVIDER)  # builtins first
        found: dict[str, Registered] = {}
        claims: dict[str, list[Registered]] = {}  # third-party registrations by name
        for impl in impls:
            provider = self.providers.get(impl.plugin_name, impl.plugin_name)
            who = self.labels.get(impl.plugin_name, f"plugin {impl.plugin_name!r}")
            made: list[Registered] = []

            def register(obj: object, _who: str = who, _provider: str = provider, _made: list = made) -> None:
                problem = registration_problem(obj)
                if problem is not None:
                    _warn(f"{_who}: {problem}; that {kind} is skipped")
                    return
                _made.append(Registered(kind, obj.name, obj, _provider))  # type: ignore[attr-defined]

            try:
                impl.function(register=register)
            except Exception as err:  # a broken plugin must not break the others
                if debugging():
                    raise
                _warn(f"{who}: its {hook_name} hook raised {type(err).__name__}: {_one_line(err)}; "
                      f"its {kind}s are skipped")
                continue
            for registered in made:
                name = registered.name
                if provider == BUILTIN_PROVIDER:
                    found.setdefault(name, registered)
                elif name in found:  # a builtin's name: the builtin keeps it
                    _warn(f"{who} registers the {kind} {name!r}, which {found[name].provider} already "
                          f"provides; the builtin is kept and the plugin's {kind} is skipped (rename it)")
                else:
                    claims.setdefault(name, []).append(registered)
        for name, claimants in claims.items():
            if len(claimants) == 1:
                found[name] = claimants[0]
            else:
                self._clashes[kind][name] = claimants
                _warn(_clash_text(kind, name, claimants))
        return found

    def get(self, kind: str, name: str) -> Registered:
        """Look up one registered thing; an unknown name lists the known ones."""
        table = self.table(kind)
        if name not in table:
            if name in self._clashes.get(kind, {}):
                raise PluginError(_clash_text(kind, name, self._clashes[kind][name]))
            known = ", ".join(sorted(table)) or "none installed"
            raise PluginError(f"no {kind} named {name!r} (installed: {known})")
        return table[name]

    def all(self) -> list[Registered]:
        return [r for kind in KINDS for r in self.table(kind).values()]


def _warn(message: str) -> None:
    warnings.warn(message, PluginLoadWarning, stacklevel=3)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _clash_text(kind: str, name: str, claimants: list[Registered]) -> str:
    """Who claims one name, and that none of them is used: for the warning and for a lookup."""
    providers = [r.provider for r in claimants]
    if len(set(providers)) == 1:
        return (f"{providers[0]} registers the {kind} {name!r} {len(providers)} times; none of them is used "
                f"(a bug in that plugin)")
    if len(providers) == 2:
        return (f"two plugins register the {kind} {name!r}: {providers[0]} and {providers[1]}; neither is used: "
                f"uninstall one of them (or leave it out with DENOISEKIT_LOAD_PLUGINS)")
    return (f"{len(providers)} plugins register the {kind} {name!r}: {', '.join(providers)}; none of them is "
            f"used: uninstall all but one (or leave the others out with DENOISEKIT_LOAD_PLUGINS)")


def registration_problem(obj: object) -> str | None:
    """Why ``obj`` cannot be registered (no usable ``name``, a ``description`` that is not text,
    ``params`` that are not well-declared ``Param`` objects), or None when it can."""
    try:
        name = getattr(obj, "name", None)
        if not isinstance(name, str) or not name.strip():
            return f"it registered a {type(obj).__name__} object without a usable name (name={reprlib.repr(name)})"
        description = getattr(obj, "description", "")
        if not isinstance(description, str):
            return f"{name!r} has a description that is not a str ({reprlib.repr(description)})"
        params = getattr(obj, "params", ())
        if not isinstance(params, (tuple, list)):
            return f"{name!r} declares params {reprlib.repr(params)}, not a tuple of denoisekit.Param"
        seen: set[str] = set()
        for param in params:
            problem = param_problem(param)
            if problem is None and param.name in seen:
                problem = f"parameter {param.name!r} is declared twice"
            if problem is not None:
                return f"{name!r} declares a bad parameter: {problem}"
            seen.add(param.name)
    except Exception as err:  # a property that raises
        return f"reading its name, description or params raised {type(err).__name__}: {_one_line(err)}"
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def param_problem(param: object) -> str | None:
    """Why a declared parameter is unusable, or None. The default must be None (the plugin then
    gets None unless the user gives a value) or a value of the parameter's type that ``-p``
    would accept: within ``min``..``max``, one of ``choices``."""
    if not isinstance(param, Param):
        return f"{reprlib.repr(param)} is not a denoisekit.Param"
    label = f"parameter {param.name!r}"
    if not isinstance(param.name, str) or not param.name.strip() or param.name != param.name.strip() \
            or "=" in param.name:
        return f"parameter name {param.name!r} cannot be given as -p NAME=VALUE"
    if param.type not in PARAM_TYPES:  # Param checks it on creation; a subclass might not
        return f"{label}: type {param.type!r} is not one of {', '.join(PARAM_TYPES)}"
    for bound in ("min", "max"):
        value = getattr(param, bound)
        if value is not None and (not _is_number(value) or math.isnan(value)):
            return f"{label}: {bound} {value!r} is not a number"
    if param.min is not None and param.max is not None and param.min > param.max:
        return f"{label}: min {param.min!r} is above max {param.max!r}"
    if param.choices is not None:
        if not isinstance(param.choices, (tuple, list)) or not all(isinstance(c, str) for c in param.choices):
            return f"{label}: choices {param.choices!r} are not a tuple of str"
        if param.choices and param.type != "str":
            return f"{label}: choices are for str parameters, not {param.type}"
    if not isinstance(param.help, str):
        return f"{label}: help {param.help!r} is not a str"
    default = param.default
    if default is None:
        return None
    kind = param.type
    if kind == "range" and isinstance(default, tuple):
        fits = len(default) == 2 and all(_is_number(v) for v in default)
    elif kind in ("float", "range"):
        fits = _is_number(default)
    elif kind == "int":
        fits = isinstance(default, int) and not isinstance(default, bool)
    elif kind == "bool":
        fits = isinstance(default, bool)
    else:
        fits = isinstance(default, str)
    if not fits:
        wanted = {"range": "a float or a (lo, hi) tuple", "int": "an int"}.get(kind, f"a {kind}")
        return f"{label}: default {default!r} is not {wanted}"
    try:
        param.check(default)
    except ParamError as err:
        return f"{label}: default {err}"
    return None


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
