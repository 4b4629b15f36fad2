"""Name -> class registries, one per plugin kind, each entry remembering the plugin that gave it."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import DuplicateNameError, PluginContractError, UnknownNameError
from .protocols import LEVELS

KINDS = ("dataset", "featurizer", "fusion", "classifier", "executor")

#: Parameters the runner fills in itself when a plugin's ``__init__`` accepts them and the
#: suite does not set them: the cell's seed, the suite's device, the dataset's class names and
#: the threads a cell may use when an executor runs cells side by side (``n_jobs``), and the
#: inner split of the training split (``inner_cv``, a scikit-learn splitter: see
#: :class:`mmbench.tuning.InnerSplit`), for cells that tune or calibrate.
CONTEXT_PARAMS = ("random_state", "device", "class_names", "n_jobs", "inner_cv")


@dataclass(frozen=True)
class Entry:
    """One registered class."""

    kind: str
    name: str
    cls: type
    plugin: str
    distribution: str
    version: str
    aliases: tuple[str, ...] = ()

    @property
    def params(self) -> dict[str, inspect.Parameter]:
        """The keyword parameters ``__init__`` accepts (name -> Parameter)."""
        return init_params(self.cls)

    @property
    def summary(self) -> str:
        """The first sentence of the class docstring, without markup."""
        from .reference import summary_of

        return summary_of(self.cls)


def init_params(cls: type) -> dict[str, inspect.Parameter]:
    """``cls.__init__``'s parameters, without ``self`` and ``*args``/``**kwargs``."""
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return {}
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {n: p for n, p in list(sig.parameters.items())[1:] if p.kind not in skip}


def _require(cls: type, kind: str, attrs: Sequence[str]) -> None:
    missing = [a for a in attrs if not hasattr(cls, a)]
    if missing:
        raise PluginContractError(
            f"{kind} {cls.__module__}.{cls.__qualname__} lacks {', '.join(missing)}; "
            f"see mmbench.protocols for the {kind} contract"
        )


def check_contract(kind: str, cls: type) -> None:
    """Raise :class:`PluginContractError` if ``cls`` cannot serve as a ``kind`` plugin."""
    if not inspect.isclass(cls):
        raise PluginContractError(
            f"{kind} plugins register classes, got {cls!r}; pass the class itself, not an "
            f"instance or a function")
    if kind == "dataset":
        _require(cls, kind, ["modalities", "load"])
    elif kind == "featurizer":
        _require(cls, kind, ["modality", "fit", "transform", "version", "fits_on_train"])
        if not isinstance(cls.modality, str) or not cls.modality:
            raise PluginContractError(f"featurizer {cls.__qualname__}.modality must be a name")
    elif kind == "fusion":
        _require(cls, kind, ["level", "fit", "predict_proba", "min_modalities"])
        if cls.level not in LEVELS:
            raise PluginContractError(
                f"fusion {cls.__qualname__}.level is {cls.level!r}; expected one of {LEVELS}"
            )
    elif kind == "classifier":
        _require(cls, kind, ["fit", "predict_proba", "get_params"])
    elif kind == "executor":
        _require(cls, kind, ["run"])
    positional = [
        n for n, p in init_params(cls).items() if p.kind == inspect.Parameter.POSITIONAL_ONLY
    ]
    if positional:
        raise PluginContractError(
            f"{kind} {cls.__qualname__}.__init__ has positional-only parameters {positional}; "
            "plugins are built from suite keywords"
        )


@dataclass
class Registry:
    """Registered classes of one kind, by name and alias."""

    kind: str
    _entries: dict[str, Entry] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        cls: type,
        name: str | None,
        aliases: Sequence[str] = (),
        *,
        plugin: str = "<direct>",
        distribution: str = "",
        version: str = "",
    ) -> Entry:
        """Register ``cls`` as ``name``; refuse a name or alias already taken."""
        check_contract(self.kind, cls)
        name = name or getattr(cls, "name", None) or cls.__name__.lower()
        entry = Entry(self.kind, name, cls, plugin, distribution, version, tuple(aliases))
        for key in (name, *aliases):
            holder = self._lookup(key)
            if holder is not None:
                raise DuplicateNameError(
                    f"{self.kind} name {key!r} is registered twice: by plugin "
                    f"{holder.plugin!r} ({holder.distribution or 'unknown distribution'}) and "
                    f"by plugin {plugin!r} ({distribution or 'unknown distribution'}); rename "
                    f"it in one of them, or disable one with MMBENCH_DISABLE_PLUGINS="
                    f"{holder.plugin} (or ={plugin})"
                )
        self._entries[name] = entry
        self._aliases.update({a: name for a in aliases})
        return entry

    def remove_plugin(self, plugin: str) -> None:
        """Forget every entry that ``plugin`` registered."""
        for name in [n for n, e in self._entries.items() if e.plugin == plugin]:
            del self._entries[name]
        self._aliases = {a: n for a, n in self._aliases.items() if n in self._entries}

    def _lookup(self, key: str) -> Entry | None:
        return self._entries.get(self._aliases.get(key, key))

    def get(self, key: str) -> Entry:
        """The entry for ``key`` (a name or alias); unknown names get did-you-mean."""
        entry = self._lookup(key)
        if entry is None:
            raise UnknownNameError(unknown_name_message(self.kind, key, self.names()))
        return entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def __iter__(self) -> Iterator[Entry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)


def unknown_name_message(kind: str, key: str, available: Sequence[str]) -> str:
    """``unknown fusion 'concatt'; did you mean 'concat'? available: ...``"""
    close = difflib.get_close_matches(key, available, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(available) if available else "none (is the plugin installed?)"
    return f"unknown {kind} {key!r}{hint} available: {listing}"


def build(entry: Entry, params: dict[str, Any]) -> Any:
    """Instantiate ``entry.cls(**params)``, naming the plugin when the constructor fails.

    A scikit-learn-style estimator, which only stores its parameters in ``__init__`` and
    checks them in ``fit``, is checked here too when it declares ``_parameter_constraints``
    (scikit-learn's own mechanism): its ``_validate_params()`` runs, so a bad value fails when
    the suite is validated rather than in every cell."""
    try:
        instance = entry.cls(**params)
        if hasattr(instance, "_parameter_constraints") and hasattr(instance, "_validate_params"):
            instance._validate_params()
        return instance
    except Exception as exc:  # a plugin's own validation: make it say where
        from .errors import UserError

        raise UserError(f"{entry.kind} {entry.name!r} rejected {params}: {exc}") from exc

