"""Finding plugins: entry points (group ``mmbench``) -> pluggy -> one registry per kind.

Built-in plugins are found by the same road as third-party ones. Entry points are loaded one at
a time, so a plugin that fails to import, names a hook that does not exist, or raises while
registering is reported (``mmbench plugins``) and left out, never fatal to the others.
``MMBENCH_DISABLE_PLUGINS=name1,name2`` blocks entry points by name.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.metadata as md
import inspect
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import MmbenchError, PluginContractError
from .registry import KINDS, Registry

ENTRY_POINT_GROUP = "mmbench"
_HOOKS = {
    "dataset": "mmbench_register_datasets",
    "featurizer": "mmbench_register_featurizers",
    "fusion": "mmbench_register_fusions",
    "classifier": "mmbench_register_classifiers",
    "executor": "mmbench_register_executors",
}


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that was left out, and why."""

    name: str
    distribution: str
    error: str

    @property
    def message(self) -> str:
        """One line naming the plugin, its distribution and what went wrong."""
        return f"plugin {self.name!r} ({self.distribution or 'unknown distribution'}): {self.error}"


@dataclass
class Catalog:
    """Everything the plugins registered, by kind, plus the plugins that failed."""

    pm: pluggy.PluginManager
    registries: dict[str, Registry] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)
    distributions: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: entry points left out by ``MMBENCH_DISABLE_PLUGINS``
    disabled: list[str] = field(default_factory=list)
    #: plugins loaded from local files (:mod:`mmbench.localplugins`): name -> (path, sha256)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Registry:
        return self.registries[kind]

    def register_plugin(self, plugin: object, name: str, distribution: str = "",
                        version: str | None = None) -> bool:
        """Register one plugin object and collect its classes. False (and recorded in
        ``broken``, with a message saying what to fix) when the plugin misspells a hook,
        forgets ``@mmbench.hookimpl``, names a hook's argument wrongly, registers a class that
        breaks its contract or a name already taken, or raises while registering."""
        if self.pm.get_plugin(name) is not None:  # keep the one already there
            self.broken.append(BrokenPlugin(name, distribution, f"a plugin named {name!r} is "
                                            "already registered; register this one under "
                                            "another name"))
            return False
        version = _dist_version(distribution) if version is None else version
        self.distributions[name] = (distribution, version)
        try:
            _check_hook_names(self.pm, plugin)
            try:
                self.pm.register(plugin, name=name)
            except pluggy.PluginValidationError as exc:
                raise MmbenchError(_validation_message(plugin, exc)) from exc
            for kind, hook in _HOOKS.items():
                for impl in getattr(self.pm.hook, hook).get_hookimpls():
                    if impl.plugin_name == name:
                        _call_hook(impl, hook, self._registrar(kind, name, distribution, version),
                                   name)
        except Exception as exc:
            self.unregister_plugin(name)
            error = str(exc) if isinstance(exc, MmbenchError) else f"{type(exc).__name__}: {exc}"
            self.broken.append(BrokenPlugin(name, distribution, error))
            return False
        return True

    def unregister_plugin(self, name: str) -> None:
        """Forget a plugin and everything it registered."""
        for registry in self.registries.values():
            registry.remove_plugin(name)
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin, name=name)
        self.distributions.pop(name, None)

    def _registrar(self, kind: str, plugin: str, dist: str, version: str) -> Any:
        registry = self.registries[kind]

        def register(cls: type, name: str | None = None, aliases: Iterable[str] = ()) -> None:
            if name is not None and (not isinstance(name, str) or not name.strip()):
                raise PluginContractError(f"{kind} names are non-empty strings, got {name!r} "
                                          f"for {getattr(cls, '__qualname__', cls)!r}")
            if isinstance(aliases, str):
                raise PluginContractError(
                    f"aliases of {kind} {name!r} must be a list of names, got the string "
                    f"{aliases!r}; write aliases=[{aliases!r}]")
            registry.add(
                cls, name, tuple(aliases), plugin=plugin, distribution=dist, version=version
            )

        return register

    def plugin_versions(self) -> dict[str, str]:
        """plugin name -> "distribution version" for provenance records."""
        return {n: " ".join(x for x in dv if x) for n, dv in self.distributions.items()}


def _dist_version(distribution: str) -> str:
    if not distribution:
        return ""
    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return ""


def _hook_functions(plugin: object) -> dict[str, Any]:
    """Attributes of ``plugin`` named like mmbench hooks (``mmbench_*`` functions)."""
    out = {}
    for attr in dir(plugin):
        if attr.startswith("mmbench_"):
            value = getattr(plugin, attr, None)
            if inspect.isroutine(value):
                out[attr] = value
    return out


def _signature(name: str, fn: Any) -> str:
    try:
        return f"{name}{inspect.signature(fn)}"
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return f"{name}(...)"


def _check_hook_names(pm: pluggy.PluginManager, plugin: object) -> None:
    """Refuse hook functions mmbench would never call: a name that is no hook (with a
    did-you-mean) or a hook function without ``@mmbench.hookimpl``."""
    hooks = list(_HOOKS.values())
    marked = {a for a in dir(plugin) if pm.parse_hookimpl_opts(plugin, a) is not None}
    problems = []
    for attr in sorted(marked - set(hooks)):
        close = difflib.get_close_matches(attr, hooks, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the hooks are {', '.join(hooks)}"
        problems.append(f"unknown hook {attr}: {hint}")
    for attr in sorted(set(_hook_functions(plugin)) & set(hooks) - marked):
        problems.append(f"{attr} is not marked with @mmbench.hookimpl, so it would never be "
                        f"called; put @mmbench.hookimpl on the line above its def")
    if problems:
        raise MmbenchError("; ".join(problems))


def _validation_message(plugin: object, exc: pluggy.PluginValidationError) -> str:
    """pluggy's complaint, in one line saying which hook and how to fix it."""
    problems = []
    for hook in _HOOKS.values():
        fn = getattr(plugin, hook, None)
        if fn is None or not inspect.isroutine(fn):
            continue
        args = [a for a in inspect.signature(fn).parameters if a != "self"]
        wrong = [a for a in args if a != "register"]
        if wrong:
            problems.append(
                f"{_signature(hook, fn)} declares argument(s) {', '.join(map(repr, wrong))} "
                f"that mmbench does not pass; the hook takes one argument: "
                f"def {hook}(register):"
            )
    return "; ".join(problems) or " ".join(str(exc).split())


def _call_hook(impl: Any, hook: str, register: Any, plugin: str) -> None:
    """Call one hook implementation, saying which hook failed and where."""
    if "register" not in impl.argnames:
        raise MmbenchError(f"{_signature(hook, impl.function)} takes no 'register' argument, "
                           f"so it cannot register anything; write def {hook}(register):")
    try:
        impl.function(register=register)
    except MmbenchError as exc:
        raise MmbenchError(f"in {hook}: {exc}") from exc
    except Exception as exc:
        raise MmbenchError(
            f"{hook} raised {type(exc).__name__}: {exc} (at {_where(exc, impl.function)}); "
            f"fix the plugin, or disable it with MMBENCH_DISABLE_PLUGINS={plugin}"
        ) from exc


def _where(exc: BaseException, fn: Any) -> str:
    """``file:line`` of the deepest frame in the hook's own file (else the deepest frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = getattr(getattr(fn, "__code__", None), "co_filename", None)
    mine = [f for f in frames if f.filename == own] or frames
    return f"{mine[-1].filename}:{mine[-1].lineno}" if mine else "unknown place"


def new_catalog() -> Catalog:
    """An empty catalog with the hook specs added and no plugin loaded."""
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    return Catalog(pm, {kind: Registry(kind) for kind in KINDS})


def _load_order(ep: md.EntryPoint) -> tuple[bool, str, str]:
    """mmbench's own plugins first (a third-party plugin never takes a built-in name), then
    by distribution and name, whatever the order of ``sys.path``."""
    dist = ep.dist.name if ep.dist is not None else ""
    return (dist != "mmbench", dist, ep.name)


def load_catalog(disabled: Iterable[str] | None = None) -> Catalog:
    """Load every ``mmbench`` entry point, one at a time, into a fresh catalog (``disabled``,
    else ``MMBENCH_DISABLE_PLUGINS``, names entry points to leave out)."""
    if disabled is None:
        disabled = [n for n in os.environ.get("MMBENCH_DISABLE_PLUGINS", "").split(",") if n]
    blocked = set(disabled)
    catalog = new_catalog()
    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=_load_order):
        if ep.name in blocked:
            if ep.name not in catalog.disabled:
                catalog.disabled.append(ep.name)
            continue
        if catalog.pm.get_plugin(ep.name) is not None:
            continue
        dist = ep.dist.name if ep.dist is not None else ""
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout is for mmbench's output
                module = ep.load()
        except Exception as exc:
            err = (f"error importing {ep.value}: {type(exc).__name__}: {exc}; reinstall "
                   f"{dist or 'the distribution'} with its dependencies, or disable the plugin "
                   f"with MMBENCH_DISABLE_PLUGINS={ep.name}")
            catalog.broken.append(BrokenPlugin(ep.name, dist, err))
            continue
        with contextlib.redirect_stdout(sys.stderr):  # (plugins --json must stay JSON)
            catalog.register_plugin(module, ep.name, dist)
    from .localplugins import load_env_files

    load_env_files(catalog)  # local plugin files in use (a worker process, --plugins-dir)
    catalog.pm.check_pending()
    return catalog


def describe_plugins(catalog: Catalog) -> dict[str, Any]:
    """What ``mmbench plugins --json`` prints: each plugin with its distribution, version and
    the names it registered by kind; every registered class's reference (as ``mmbench plugins
    NAME --json``: docstring, kind facts, parameters); the broken plugins with their errors;
    the disabled ones."""
    plugins = []
    for name, (dist, version) in sorted(catalog.distributions.items()):
        registered: dict[str, list[dict[str, Any]]] = {}
        for kind, registry in catalog.registries.items():
            entries = [
                {"name": e.name, "aliases": list(e.aliases), "summary": e.summary}
                for e in registry if e.plugin == name
            ]
            if entries:
                registered[kind] = entries
        plugins.append({"name": name, "distribution": dist, "version": version,
                        "registered": registered})
    from .reference import describe_entry

    return {
        "plugins": plugins,
        "reference": [describe_entry(e) for r in catalog.registries.values() for e in r],
        "broken": [{"name": b.name, "distribution": b.distribution, "error": b.error,
                    "message": b.message} for b in catalog.broken],
        "disabled": list(catalog.disabled),
    }


_catalog: Catalog | None = None


def get_catalog() -> Catalog:
    """The process-wide catalog, loaded on first use (never at import time)."""
    global _catalog
    if _catalog is None:
        _catalog = load_catalog()
    return _catalog


def reset_catalog() -> None:
    """Drop the process-wide catalog so the next :func:`get_catalog` reloads entry points."""
    global _catalog
    _catalog = None
