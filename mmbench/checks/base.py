"""What every check shares: fresh plugin objects, shared fits within a run, failure messages
that name the plugin with its parameters, and the probability-matrix rule."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn

import numpy as np

from ..errors import PluginContractError
from ..registry import check_contract, init_params

Check = Callable[..., Any]


def plugin_class(plugin: Any) -> type:
    """The class of ``plugin`` (a class or an instance)."""
    return plugin if inspect.isclass(plugin) else type(plugin)


def init_values(plugin: Any) -> dict[str, Any]:
    """The ``__init__`` parameters of an instance, read from the attributes of the same names
    (scikit-learn's convention, which the kit relies on); a class gives ``{}``."""
    if inspect.isclass(plugin):
        return {}
    if hasattr(plugin, "get_params"):
        try:
            return dict(plugin.get_params(deep=False))
        except Exception:  # noqa: BLE001 - a broken get_params is check_classifier_params' job
            pass
    return {n: getattr(plugin, n) for n in init_params(type(plugin)) if hasattr(plugin, n)}


def label(plugin: Any) -> str:
    """``GMU(head='softmax')``: the class name and the parameters that differ from their
    defaults (a class, or an instance at its defaults: the bare name)."""
    cls = plugin_class(plugin)
    defaults = {n: p.default for n, p in init_params(cls).items()}
    shown = []
    for name, value in init_values(plugin).items():
        default = defaults.get(name, inspect.Parameter.empty)
        try:
            same = bool(value == default) if not isinstance(value, np.ndarray) else False
        except Exception:  # noqa: BLE001 - an uncomparable value is shown
            same = False
        if not same:
            shown.append(f"{name}={value!r}")
    return f"{cls.__name__}({', '.join(shown)})" if shown else cls.__name__


def fresh(plugin: Any, params: dict[str, Any] | None = None) -> Any:
    """A new, unfitted object: ``cls(**params)`` for a class, a deep copy for an instance."""
    if inspect.isclass(plugin):
        try:
            return plugin(**(params or {}))
        except Exception as exc:
            raise AssertionError(
                f"{plugin.__name__}({kwargs_text(params)}) raised {type(exc).__name__}: {exc}; "
                f"pass an instance built with valid parameters instead of the class"
            ) from exc
    if params:
        raise AssertionError(f"params {params} given with an instance of "
                             f"{type(plugin).__name__}; build the instance with them instead")
    return copy.deepcopy(plugin)


def with_params(plugin: Any, **params: Any) -> Any:
    """A fresh copy of ``plugin`` with some ``__init__`` parameters replaced."""
    obj = fresh(plugin)
    if hasattr(obj, "set_params"):
        return obj.set_params(**params)
    for name, value in params.items():
        setattr(obj, name, value)
    return obj


_memo: ContextVar[dict[Any, Any] | None] = ContextVar("mmbench_check_memo", default=None)


@contextmanager
def shared_work() -> Iterator[None]:
    """Within this block, checks of the same plugin share their fits and loads (a run of all
    checks then fits once, not once per check)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def cached(key: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, once per ``key`` inside :func:`shared_work`."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def kwargs_text(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in (params or {}).items())


def fail(plugin: Any, message: str) -> NoReturn:
    """Raise the ``AssertionError`` of a broken rule, naming the plugin and its parameters."""
    raise AssertionError(f"{label(plugin)}: {message}")


def contract(kind: str, plugin: Any) -> None:
    try:
        check_contract(kind, plugin_class(plugin))
    except PluginContractError as exc:
        raise AssertionError(str(exc)) from None


def shape(x: Any) -> str:
    return str(tuple(int(d) for d in np.shape(x)))


def check_proba(plugin: Any, proba: Any, n: int, n_classes: int, call: str) -> np.ndarray:
    """``proba`` must be a finite ``float[n, n_classes]`` of non-negative rows summing to 1."""
    p = np.asarray(proba)
    if p.shape != (n, n_classes):
        fail(plugin, f"{call} returned shape {shape(p)}; expected ({n}, {n_classes}): one row "
                     f"per sample, one column per class")
    if not np.issubdtype(p.dtype, np.number):
        fail(plugin, f"{call} returned {p.dtype} values; expected floats")
    p = p.astype(np.float64)
    bad = ~np.isfinite(p)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        fail(plugin, f"{call} returned {int(bad.sum())} NaN/inf values (first at row {r}, "
                     f"column {c})")
    if (p < -1e-9).any():
        r, c = np.argwhere(p < -1e-9)[0]
        fail(plugin, f"{call} returned a negative probability {p[r, c]:.4g} at row {r}, "
                     f"column {c}")
    sums = p.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-4)
    if off.size:
        r = off[0]
        fail(plugin, f"{call} rows must sum to 1 (row {r} sums to {sums[r]:.4g}; "
                     f"{off.size} of {n} rows are off)")
    return p


def returns_self(plugin: Any, obj: Any, result: Any, call: str) -> None:
    if result is not obj:
        got = "None" if result is None else f"a {type(result).__name__}"
        fail(plugin, f"{call} must return self, got {got}")


def near_chance(plugin: Any, acc: float, k: int, n_test: int, n_train: int, what: str) -> None:
    """Fail when ``acc`` is at most 1.5 x chance, saying the accuracy, chance and data size."""
    if acc <= 1.5 / k:
        fail(plugin, f"accuracy {acc:.2f} is near chance ({1 / k:.2f}, {k} classes) on "
                     f"{n_test} test rows of {what} (trained on {n_train} rows); a model that "
                     f"needs more data or epochs can be checked on larger data: "
                     f"data=tiny_data(n=..., dims=...)")


#: plugin kinds with checks
KINDS = ("dataset", "featurizer", "fusion", "classifier")


def kind_of(plugin: Any) -> str:
    """Which kind of plugin ``plugin`` is, from the attributes its contract requires."""
    cls = plugin_class(plugin)
    if hasattr(cls, "load") and hasattr(cls, "modalities"):
        return "dataset"
    if hasattr(cls, "transform") and hasattr(cls, "modality"):
        return "featurizer"
    if hasattr(cls, "level") and hasattr(cls, "predict_proba"):
        return "fusion"
    if hasattr(cls, "predict_proba") and hasattr(cls, "fit"):
        return "classifier"
    raise TypeError(
        f"cannot tell which kind of plugin {cls.__name__} is (no load/modalities, "
        f"transform/modality, level or predict_proba); pass kind= one of {sorted(KINDS)}"
    )
