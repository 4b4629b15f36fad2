"""Rules every fitted plugin (featurizer, fusion, classifier) meets, whatever its kind:

- the same ``random_state`` gives the same output; ``fit`` twice gives the model of the second
  fit (no state carried over); ``fit`` leaves the parameters as they were;
- a fitted plugin pickles and unpickles to the same output (executors ship fitted plugins);
- wrong types of parameter values are refused when the plugin is built.

Each runs the plugin through a :class:`Task`: two training sets and the output to compare
(``transform`` of every sample, or ``predict_proba`` of every row).
"""

from __future__ import annotations

import copy
import inspect
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..protocols import MultimodalData
from ..registry import init_params
from .base import cached, fail, fresh, init_values, kind_of, plugin_class, with_params
from .classifiers import separable
from .data import fusion_views, tiny_data
from .fusions import logreg


@dataclass
class Task:
    """How to fit a plugin on training set 0 or 1 and read its output."""

    fit: Callable[[Any, int], Any]
    output: Callable[[Any], np.ndarray]
    what: str


def task(plugin: Any, make_classifier: Any = None, data: MultimodalData | None = None) -> Task:
    """The :class:`Task` for ``plugin``'s kind (featurizer, fusion or classifier)."""
    kind = kind_of(plugin)
    if kind == "featurizer":
        data = data if data is not None else tiny_data()
        modality = plugin.modality  # an instance may name its own (a parameter)
        samples = data.modalities.get(modality)
        if samples is None:
            fail(plugin, f"modality {modality!r} is not in the test data "
                         f"{list(data.modalities)}; pass data=... with that modality")
        cut = int(len(samples) * 0.7)
        parts = (samples[:cut], samples[len(samples) - cut:])
        return Task(lambda f, i: f.fit(parts[i]),
                    lambda f: np.asarray(f.transform(samples), dtype=np.float64), "transform()")
    if kind == "fusion":
        views, y, _ = fusion_views(data)
        cut = int(len(y) * 0.7)
        rows = (np.arange(cut), np.arange(len(y) - cut, len(y)))
        return Task(lambda f, i: f.fit({m: v[rows[i]] for m, v in views.items()}, y[rows[i]],
                                       make_classifier or logreg),
                    lambda f: np.asarray(f.predict_proba(views), dtype=np.float64),
                    "predict_proba()")
    if kind == "classifier":
        X, y = separable()
        rows = (np.arange(60), np.arange(30, 90))
        return Task(lambda c, i: c.fit(X[rows[i]], y[rows[i]]),
                    lambda c: np.asarray(c.predict_proba(X), dtype=np.float64),
                    "predict_proba()")
    raise ValueError(f"no fitting rules for a {kind}")  # pragma: no cover - CHECKS decides


def _seeded(plugin: Any) -> Any:
    """A fresh copy, with ``random_state=0`` when the plugin takes one."""
    if "random_state" in init_params(plugin_class(plugin)):
        return with_params(plugin, random_state=0)
    return fresh(plugin)


@dataclass
class _Fitted:
    obj: Any
    params_before: dict[str, Any]
    output: np.ndarray


def _fitted(plugin: Any, make_classifier: Any, data: MultimodalData | None) -> _Fitted:
    def compute() -> _Fitted:
        t = task(plugin, make_classifier, data)
        obj = _seeded(plugin)
        before = copy.deepcopy(init_values(obj))
        t.fit(obj, 0)
        return _Fitted(obj, before, t.output(obj))

    return cached(("behaviour", id(plugin), id(make_classifier), id(data)), compute)


def _differ(plugin: Any, a: np.ndarray, b: np.ndarray, what: str, fix: str) -> None:
    if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=1e-7, equal_nan=True):
        gap = np.abs(a - b).max() if a.shape == b.shape else f"shapes {a.shape} and {b.shape}"
        fail(plugin, f"{what} (max difference {gap}); {fix}")


def check_same_random_state(plugin: Any, make_classifier: Any = None,
                            data: MultimodalData | None = None) -> None:
    """Two fits with the same ``random_state`` (0, when the plugin takes one) give the same
    output: a cell's result depends only on its seed."""
    t = task(plugin, make_classifier, data)
    first = _fitted(plugin, make_classifier, data)
    other = _seeded(plugin)
    t.fit(other, 0)
    seeded = "random_state=0" if "random_state" in init_params(plugin_class(plugin)) else \
        "the same parameters"
    _differ(plugin, first.output, t.output(other),
            f"two fits with {seeded} on the same data gave different {t.what}",
            "draw every random number from a generator seeded by random_state (never the "
            "global numpy or torch state)")


def check_fit_twice(plugin: Any, make_classifier: Any = None,
                    data: MultimodalData | None = None) -> None:
    """``fit`` on other data, then ``fit`` again, gives the model a single fit gives: no
    state is carried over from an earlier fit."""
    t = task(plugin, make_classifier, data)
    first = _fitted(plugin, make_classifier, data)
    again = _seeded(plugin)
    t.fit(again, 1)
    t.fit(again, 0)
    _differ(plugin, first.output, t.output(again),
            f"fit() after an earlier fit on other data gave different {t.what} than one fit",
            "start every fit from scratch (reset what an earlier fit learnt; create fitted "
            "attributes, ending in _, inside fit)")


def _same(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(a, b))
        return bool(type(a) is type(b) and a == b)
    except Exception:  # noqa: BLE001 - uncomparable values: compare their text
        return repr(a) == repr(b)


def check_params_unchanged_by_fit(plugin: Any, make_classifier: Any = None,
                                  data: MultimodalData | None = None) -> None:
    """``fit`` leaves every ``__init__`` parameter as it was (the runner records them)."""
    fitted = _fitted(plugin, make_classifier, data)
    after = init_values(fitted.obj)
    changed = [f"{n}: {v!r} -> {after.get(n)!r}" for n, v in fitted.params_before.items()
               if not _same(v, after.get(n))]
    if changed:
        fail(plugin, f"fit() changed parameter(s) {'; '.join(changed)}; keep parameters as "
                     f"given and store what fit derives in attributes ending in _ "
                     f"(n_components_, not n_components)")


def check_pickle_round_trip(plugin: Any, make_classifier: Any = None,
                            data: MultimodalData | None = None) -> None:
    """A fitted plugin pickles, and the unpickled copy gives the same output (executors send
    fitted plugins to other processes)."""
    t = task(plugin, make_classifier, data)
    fitted = _fitted(plugin, make_classifier, data)
    try:
        copy_ = pickle.loads(pickle.dumps(fitted.obj))
    except Exception as exc:  # noqa: BLE001 - what failed is the message
        fail(plugin, f"a fitted object does not pickle: {type(exc).__name__}: {exc}; keep "
                     f"lambdas, open files, locks and local classes out of its attributes")
    _differ(plugin, fitted.output, t.output(copy_),
            f"the unpickled copy gives different {t.what}",
            "keep everything the output depends on in picklable attributes")


#: wrong values tried per type of default: the kind of mistake a TOML file makes
_WRONG: list[tuple[type, Callable[[Any], Any]]] = [
    (bool, lambda d: "yes"),
    (int, lambda d: str(d)),
    (float, lambda d: str(d)),
    (str, lambda d: 12345),
]


def wrong_values(cls: type, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Per parameter whose value (``values``, else its default) is of a plain type (bool, int,
    float, str; or None with an annotation naming only numbers), a value of the wrong type."""
    out = {}
    for name, p in init_params(cls).items():
        default = (values or {}).get(name, p.default)
        if default is inspect.Parameter.empty:
            continue
        if default is None:
            note = str(p.annotation)
            if any(t in note for t in ("int", "float")) and not any(
                    t in note for t in ("str", "Any", "Literal", "list", "tuple", "dict")):
                out[name] = "1"
            continue
        if isinstance(default, str) and any(t in str(p.annotation) for t in ("int", "float")):
            continue  # a number may be right for it (max_features: "sqrt" or 0.5)
        for typ, wrong in _WRONG:
            if type(default) is typ:
                out[name] = wrong(default)
                break
    return out


def _build(cls: type, params: dict[str, Any]) -> Any:
    obj = cls(**params)
    if hasattr(obj, "_parameter_constraints") and hasattr(obj, "_validate_params"):
        obj._validate_params()  # scikit-learn's rules, which mmbench validate runs too
    return obj


def check_refuses_invalid_params(plugin: Any) -> None:
    """A parameter value of the wrong type (``"64"`` for an int, ``"yes"`` for a bool, a number
    for a string) is refused when the plugin is built (``__init__``, or the estimator's
    ``_parameter_constraints``), as ``mmbench validate`` builds every plugin before any work."""
    cls = plugin_class(plugin)
    base = init_values(plugin)
    accepted = []
    for name, value in wrong_values(cls, base).items():
        try:
            _build(cls, {**base, name: value})
        except Exception:  # noqa: BLE001 - refused, as it should be
            continue
        accepted.append(f"{name}={value!r}")
    if accepted:
        fail(plugin, f"{cls.__name__}({', '.join(accepted)}) was accepted; check each "
                     f"parameter's type and range in __init__ and raise TypeError or ValueError "
                     f"naming it (a scikit-learn estimator may declare _parameter_constraints "
                     f"instead)")
