"""Finding plugins: entry points (group ``mmbench``) -> pluggy -> one registry per kind.

Built-in plugins are found by the same road as third-party ones. Entry points are loaded one at
a time, so a plugin that fails to import, names a hook that does not exist, or raises while
registering is reported (``mmbench plugins``) and left out, never fatal to the others.
``MMBENCH_DISABLE_PLUGINS=name1,name2`` blocks entry points by name.
"""

from __future__ import annotations

import importlib.metadata as md
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import MmbenchError
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


@dataclass
class Catalog:
    """Everything the plugins registered, by kind, plus the plugins that failed."""

    pm: pluggy.PluginManager
    registries: dict[str, Registry] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)
    distributions: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Registry:
        return self.registries[kind]

    def register_plugin(self, plugin: object, name: str, distribution: str = "") -> bool:
        """Register one plugin object and collect its classes. False (and recorded in
        ``broken``) when the plugin misspells a hook or raises while registering."""
        version = _dist_version(distribution)
        self.distributions[name] = (distribution, version)
        try:
            self.pm.register(plugin, name=name)
            _check_pending_for(self.pm, name)
            for kind, hook in _HOOKS.items():
                for impl in getattr(self.pm.hook, hook).get_hookimpls():
                    if impl.plugin_name == name:
                        impl.function(register=self._registrar(kind, name, distribution, version))
        except Exception as exc:
            self.unregister_plugin(name)
            self.broken.append(BrokenPlugin(name, distribution, f"{type(exc).__name__}: {exc}"))
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


def _check_pending_for(pm: pluggy.PluginManager, name: str) -> None:
    """pluggy's ``check_pending`` for one plugin, with a did-you-mean for misspelled hooks."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        import difflib

        plugin = pm.get_plugin(name)
        hooks = [h for h in dir(plugin) if h.startswith("mmbench_")]
        unknown = [h for h in hooks if h not in _HOOKS.values()]
        close = {h: difflib.get_close_matches(h, list(_HOOKS.values()), n=1) for h in unknown}
        hint = "; ".join(f"{h}: did you mean {c[0]}?" if c else h for h, c in close.items())
        raise MmbenchError(f"unknown hook(s) {hint or exc}") from exc


def new_catalog() -> Catalog:
    """An empty catalog with the hook specs added and no plugin loaded."""
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    return Catalog(pm, {kind: Registry(kind) for kind in KINDS})


def load_catalog(disabled: Iterable[str] | None = None) -> Catalog:
    """Load every ``mmbench`` entry point, one at a time, into a fresh catalog."""
    if disabled is None:
        disabled = [n for n in os.environ.get("MMBENCH_DISABLE_PLUGINS", "").split(",") if n]
    blocked = set(disabled)
    catalog = new_catalog()
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or catalog.pm.get_plugin(ep.name) is not None:
            continue
        dist = ep.dist.name if ep.dist is not None else ""
        try:
            module = ep.load()
        except Exception as exc:
            err = f"error importing {ep.value}: {type(exc).__name__}: {exc}"
            catalog.broken.append(BrokenPlugin(ep.name, dist, err))
            continue
        catalog.register_plugin(module, ep.name, dist)
    catalog.pm.check_pending()
    return catalog


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
