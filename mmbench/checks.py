"""Conformance checks, one function per rule, grouped by plugin kind.

Every check takes a plugin (a class, built with its defaults, or an instance, deep-copied so
each check starts from a fresh unfitted object) and raises ``AssertionError`` with a message
that names the plugin and says exactly what is wrong. :data:`CHECKS` lists them by kind;
:mod:`mmbench.testing` runs them (``check_fusion``...) or hands them to pytest one by one
(``parametrize_with_checks``).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from .errors import PluginContractError
from .protocols import KINDS, LEVELS, MultimodalData
from .registry import check_contract

Check = Callable[..., Any]


# ---------------------------------------------------------------------------------- helpers


def plugin_class(plugin: Any) -> type:
    """The class of ``plugin`` (a class or an instance)."""
    return plugin if inspect.isclass(plugin) else type(plugin)


def fresh(plugin: Any, params: dict[str, Any] | None = None) -> Any:
    """A new, unfitted object: ``cls(**params)`` for a class, a deep copy for an instance."""
    if inspect.isclass(plugin):
        try:
            return plugin(**(params or {}))
        except Exception as exc:
            raise AssertionError(
                f"{plugin.__name__}({_kwargs(params)}) raised {type(exc).__name__}: {exc}; "
                f"pass an instance built with valid parameters instead of the class"
            ) from exc
    if params:
        raise AssertionError(f"params {params} given with an instance of "
                             f"{type(plugin).__name__}; build the instance with them instead")
    return copy.deepcopy(plugin)


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


def _cached(key: Any, compute: Callable[[], Any]) -> Any:
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _kwargs(params: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in (params or {}).items())


def _fail(plugin: Any, message: str) -> NoReturn:
    raise AssertionError(f"{plugin_class(plugin).__name__}: {message}")


def _contract(kind: str, plugin: Any) -> None:
    try:
        check_contract(kind, plugin_class(plugin))
    except PluginContractError as exc:
        raise AssertionError(str(exc)) from None


def _shape(x: Any) -> str:
    return str(tuple(int(d) for d in np.shape(x)))


def _check_proba(plugin: Any, proba: Any, n: int, n_classes: int, call: str) -> np.ndarray:
    """``proba`` must be a finite ``float[n, n_classes]`` of non-negative rows summing to 1."""
    p = np.asarray(proba)
    if p.shape != (n, n_classes):
        _fail(plugin, f"{call} returned shape {_shape(p)}; expected ({n}, {n_classes}): one row "
                      f"per sample, one column per class")
    if not np.issubdtype(p.dtype, np.number):
        _fail(plugin, f"{call} returned {p.dtype} values; expected floats")
    p = p.astype(np.float64)
    bad = ~np.isfinite(p)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        _fail(plugin, f"{call} returned {int(bad.sum())} NaN/inf values (first at row {r}, "
                      f"column {c})")
    if (p < -1e-9).any():
        r, c = np.argwhere(p < -1e-9)[0]
        _fail(plugin, f"{call} returned a negative probability {p[r, c]:.4g} at row {r}, "
                      f"column {c}")
    sums = p.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > 1e-4)
    if off.size:
        r = off[0]
        _fail(plugin, f"{call} rows must sum to 1 (row {r} sums to {sums[r]:.4g}; "
                      f"{off.size} of {n} rows are off)")
    return p


def _returns_self(plugin: Any, obj: Any, result: Any, call: str) -> None:
    if result is not obj:
        got = "None" if result is None else f"a {type(result).__name__}"
        _fail(plugin, f"{call} must return self, got {got}")


# ----------------------------------------------------------------------------------- datasets


def _load(plugin: Any, shared: bool = True) -> MultimodalData:
    def compute() -> MultimodalData:
        data = fresh(plugin).load()
        if not isinstance(data, MultimodalData):
            _fail(plugin, f"load() must return mmbench.protocols.MultimodalData, got "
                          f"{type(data).__name__}")
        return data

    return _cached(("load", id(plugin)), compute) if shared else compute()


def check_dataset_contract(plugin: Any) -> None:
    """Has ``load`` and ``modalities``, a non-empty tuple of modality names."""
    _contract("dataset", plugin)
    mods = plugin_class(plugin).modalities
    if not isinstance(mods, (tuple, list)) or not mods or not all(
            isinstance(m, str) and m for m in mods):
        _fail(plugin, f"modalities must be a non-empty tuple of modality names such as "
                      f"('image', 'text'), got {mods!r}")


def check_dataset_load(plugin: Any) -> MultimodalData:
    """``load()`` returns :class:`MultimodalData` with the modalities the class declares."""
    data = _load(plugin)
    # an instance may name its own modalities (a table dataset's come from its parameters)
    declared, loaded = set(getattr(plugin, "modalities")), set(data.modalities)
    if declared != loaded:
        _fail(plugin, f"modalities declares {sorted(declared)} but load() returned "
                      f"{sorted(loaded)}; suites are validated against the declaration")
    kinds = getattr(plugin, "kinds", None)
    if isinstance(kinds, dict):
        wrong = [m for m, k in kinds.items() if m in data.modalities and data.kind(m) != k]
        if wrong:
            m = wrong[0]
            _fail(plugin, f"kinds declares {m!r} as {kinds[m]!r} but load() returned a "
                          f"{data.kind(m)!r} modality; suites are validated against the "
                          f"declaration")
    return data


def check_dataset_labels(plugin: Any) -> None:
    """``y`` is ``int[N]`` in ``range(len(class_names))``, with at least two classes."""
    data = _load(plugin)
    y, names = np.asarray(data.y), data.class_names
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        _fail(plugin, f"y is {y.dtype} of shape {_shape(y)} but labels must be int64[N]")
    if not all(isinstance(c, str) for c in names) or len(set(names)) != len(names):
        _fail(plugin, f"class_names must be distinct strings, got {names!r}")
    if len(y) and (y.min() < 0 or y.max() >= len(names)):
        _fail(plugin, f"labels must lie in range({len(names)}) (one per class name), got "
                      f"{y.min()}..{y.max()}")
    if len(np.unique(y)) < 2:
        _fail(plugin, f"load() returned {len(np.unique(y))} distinct label(s); a benchmark "
                      f"needs at least 2 classes")


def check_dataset_samples(plugin: Any) -> None:
    """By kind (``MultimodalData.kind``, whatever the modality is named): images are
    ``uint8[N, H, W, 3]`` arrays, texts lists of ``str``, numeric modalities a ``DataFrame`` or
    a 2-d number array; one sample per label."""
    data = _load(plugin)
    n = len(data.y)
    for name, samples in data.modalities.items():
        # the declared kind, else the kind the name says ('image'), else the samples' own
        kind = data.kinds.get(name) or (name if name in KINDS else data.kind(name))
        if kind == "image":
            distinct = getattr(samples, "distinct", samples)  # SharedSamples: its distinct ones
            x = np.asarray(distinct) if isinstance(distinct, np.ndarray) else None
            if x is None or x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
                got = (f"{x.dtype} of shape {_shape(x)}" if x is not None
                       else type(samples).__name__)
                _fail(plugin, f"modality {name!r} is {got} but images must be "
                              f"uint8[N, H, W, 3]")
        elif kind == "text":
            samples = getattr(samples, "distinct", samples)  # SharedSamples: its distinct ones
            if not isinstance(samples, list):
                _fail(plugin, f"modality {name!r} is a {type(samples).__name__} but texts must "
                              f"be a list of str")
            bad = [i for i, s in enumerate(samples) if not isinstance(s, str)]
            if bad:
                _fail(plugin, f"modality {name!r} holds {type(samples[bad[0]]).__name__} at "
                              f"index {bad[0]} ({len(bad)} non-str samples); texts must be str")
        elif not hasattr(samples, "iloc") and not (
                isinstance(samples, np.ndarray) and samples.ndim == 2
                and samples.dtype.kind in "biuf"):
            _fail(plugin, f"modality {name!r} is numeric but a {type(samples).__name__}; "
                          f"tabular data must be a pandas DataFrame or a 2-d number array")
        if len(data.modalities[name]) != n:  # pragma: no cover - MultimodalData refuses this
            _fail(plugin, f"modality {name!r} has {len(data.modalities[name])} samples for {n} "
                          f"labels")


def check_dataset_fingerprint(plugin: Any) -> None:
    """A non-empty fingerprint, the same on every load of the same data (feature-cache key)."""
    first, second = _load(plugin), _load(plugin, shared=False)
    if not isinstance(first.fingerprint, str) or not first.fingerprint:
        _fail(plugin, f"fingerprint must be a non-empty content hash, got {first.fingerprint!r}")
    if first.fingerprint != second.fingerprint:
        _fail(plugin, "two load() calls gave different fingerprints; build the fingerprint from "
                      "the content, not from time or randomness")
    if not np.array_equal(first.y, second.y):
        _fail(plugin, "two load() calls gave different labels; a dataset must load the same "
                      "samples every time (seed any sampling)")


# -------------------------------------------------------------------------------- featurizers


@dataclass
class _Featurized:
    """One featurizer fitted on 70% of the samples, and its transforms."""

    featurizer: Any
    fit_result: Any
    n_samples: int
    n_train: int
    full: Any    # transform(all samples)
    unseen: Any  # transform(the other 30%)
    again: Any   # transform(all samples), a second time


def _featurize(plugin: Any, data: MultimodalData | None) -> _Featurized:
    def compute() -> _Featurized:
        from .testing import tiny_data

        nonlocal data
        data = data if data is not None else tiny_data()
        featurizer = fresh(plugin)
        modality = featurizer.modality
        if modality not in data.modalities:
            _fail(plugin, f"modality {modality!r} is not in the test data "
                          f"{list(data.modalities)}; pass data=... with that modality")
        samples = data.modalities[modality]
        cut = int(len(data) * 0.7)
        fitted = featurizer.fit(samples[:cut])
        full = featurizer.transform(samples)
        return _Featurized(featurizer, fitted, len(samples), cut, full, featurizer.transform(samples[cut:]),
                           featurizer.transform(samples))

    return _cached(("featurize", id(plugin), id(data)), compute)


def _features(plugin: Any, out: Any, n: int, call: str) -> np.ndarray:
    x = np.asarray(out)
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[0] != n or x.shape[1] < 1:
        _fail(plugin, f"{call} returned {x.dtype} of shape {_shape(x)} but features must be "
                      f"float32[N, D] with N = {n} samples and D >= 1")
    return x


def check_featurizer_contract(plugin: Any) -> None:
    """Has ``modality`` (a name), ``version`` (a string), ``fits_on_train`` (a bool)."""
    _contract("featurizer", plugin)
    cls = plugin_class(plugin)
    if not isinstance(cls.version, str) or not cls.version:
        _fail(plugin, f"version must be a non-empty string (part of the cache key), got "
                      f"{cls.version!r}")
    if not isinstance(cls.fits_on_train, bool):
        _fail(plugin, f"fits_on_train must be True or False, got {cls.fits_on_train!r}")


def check_featurizer_fit_returns_self(plugin: Any, data: MultimodalData | None = None) -> None:
    """``fit(samples)`` returns the featurizer itself."""
    run = _featurize(plugin, data)
    _returns_self(plugin, run.featurizer, run.fit_result, "fit()")


def check_featurizer_output(plugin: Any, data: MultimodalData | None = None) -> np.ndarray:
    """``transform`` returns finite ``float32[N, D]``."""
    run = _featurize(plugin, data)
    x = _features(plugin, run.full, run.n_samples, "transform()")
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        _fail(plugin, f"transform() returned {int(bad.sum())} NaN/inf values (first at row {r}, "
                      f"column {c}); features must be finite")
    return x


def check_featurizer_rows_independent(plugin: Any, data: MultimodalData | None = None) -> None:
    """Transforming unseen samples alone gives the same width and rows as within all samples
    (the runner featurizes in batches; a sample's features must not depend on its batch)."""
    run = _featurize(plugin, data)
    full = _features(plugin, run.full, run.n_samples, "transform(all)")
    n_unseen = run.n_samples - run.n_train
    part = _features(plugin, run.unseen, n_unseen, "transform(unseen)")
    if part.shape[1] != full.shape[1]:
        _fail(plugin, f"transform() gave {full.shape[1]} columns for {full.shape[0]} samples but "
                      f"{part.shape[1]} for {n_unseen}; D must be fixed by fit()")
    rows = full[run.n_train:].astype(np.float64)
    diff = np.abs(part.astype(np.float64) - rows)
    tol = 1e-5 + 1e-4 * np.abs(rows)
    if (diff > tol).any():
        r = int(np.argwhere(diff > tol)[0][0])
        _fail(plugin, f"row {r} of transform(unseen samples) differs from the same sample's row "
                      f"in transform(all samples) (max difference {diff.max():.3g}); each row "
                      f"must depend only on its own sample")


def check_featurizer_deterministic(plugin: Any, data: MultimodalData | None = None) -> None:
    """Two transforms of the same samples are equal (features are cached and reused)."""
    run = _featurize(plugin, data)
    a = _features(plugin, run.full, run.n_samples, "transform()")
    b = _features(plugin, run.again, run.n_samples, "transform()")
    if not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        _fail(plugin, "two transform() calls on the same samples differ; features are cached, "
                      "so they must be deterministic (seed any randomness)")


# -------------------------------------------------------------------------------- classifiers


def _separable(n: int = 90, labels: tuple[int, ...] = (0, 1, 2)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.asarray(labels)[np.arange(n) % len(labels)]
    X = rng.normal(0, 0.3, (n, 4)) + np.eye(max(labels) + 1, 4)[y] * 3
    return X, y


def check_classifier_contract(plugin: Any) -> None:
    """Has ``fit``, ``predict_proba`` and ``get_params``."""
    _contract("classifier", plugin)


def check_classifier_params(plugin: Any) -> None:
    """``get_params()`` returns the ``__init__`` parameters and ``sklearn.clone`` keeps them."""
    from sklearn.base import clone

    clf = fresh(plugin)
    params = clf.get_params()
    init = set(inspect.signature(plugin_class(plugin).__init__).parameters) - {"self"}
    missing = sorted(p for p in init if p not in params and p not in ("args", "kwargs"))
    if missing:
        _fail(plugin, f"get_params() lacks the __init__ parameter(s) {missing}; store each "
                      f"parameter unchanged as an attribute of the same name")
    try:
        cloned = clone(clf)
    except Exception as exc:
        _fail(plugin, f"sklearn.base.clone() failed: {type(exc).__name__}: {exc}")
    if cloned.get_params() != params:
        _fail(plugin, f"clone() changed the parameters: {params} became {cloned.get_params()}")


def _fit_classifier(plugin: Any) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """(classifier, what fit returned, X, y) on the separable problem."""
    def compute() -> tuple[Any, Any, np.ndarray, np.ndarray]:
        clf = fresh(plugin)
        X, y = _separable()
        return clf, clf.fit(X, y), X, y

    return _cached(("classifier", id(plugin)), compute)


def check_classifier_fit_returns_self(plugin: Any) -> None:
    """``fit(X, y)`` returns the classifier itself."""
    clf, result, _, _ = _fit_classifier(plugin)
    _returns_self(plugin, clf, result, "fit()")


def check_classifier_predict_proba(plugin: Any) -> None:
    """``classes_`` are the sorted training labels; ``predict_proba`` has one column per class
    and rows of probabilities that sum to 1."""
    clf, _, X, y = _fit_classifier(plugin)
    classes = list(np.asarray(getattr(clf, "classes_", [])).tolist())
    if classes != [0, 1, 2]:
        _fail(plugin, f"after fit() classes_ must be the sorted training labels [0, 1, 2], got "
                      f"{getattr(clf, 'classes_', 'no classes_ attribute')}")
    _check_proba(plugin, clf.predict_proba(X), len(y), 3, "predict_proba")


def check_classifier_labels_not_from_zero(plugin: Any) -> None:
    """Labels need not be ``0..k-1``: a split may lack a class (fusions map columns through
    ``classes_``)."""
    clf = fresh(plugin)
    X, y = _separable(labels=(0, 2, 3))
    clf.fit(X, y)
    classes = list(np.asarray(getattr(clf, "classes_", [])).tolist())
    if classes != [0, 2, 3]:
        _fail(plugin, f"trained on labels 0, 2, 3, classes_ must be [0, 2, 3], got "
                      f"{getattr(clf, 'classes_', 'no classes_ attribute')}")
    _check_proba(plugin, clf.predict_proba(X), len(y), 3, "predict_proba (labels 0, 2, 3)")


def check_classifier_learns(plugin: Any) -> None:
    """Better than 90% training accuracy on a well-separated problem."""
    clf, _, X, y = _fit_classifier(plugin)
    proba = np.asarray(clf.predict_proba(X))
    acc = float(np.mean(np.asarray(clf.classes_)[proba.argmax(axis=1)] == y))
    if acc <= 0.9:
        _fail(plugin, f"accuracy {acc:.2f} on a well-separated 3-class problem (expected > 0.9)")


# ------------------------------------------------------------------------------------ fusions


def _views(data: MultimodalData | None, seed: int = 1) -> tuple[dict[str, np.ndarray],
                                                                 np.ndarray, int]:
    """Image and text feature views of different widths, each carrying the class."""
    from .testing import tiny_data

    data = data if data is not None else tiny_data(n=150)
    rng = np.random.default_rng(seed)
    y, k = data.y, len(data.class_names)
    views = {}
    for name, d in (("image", k + 4), ("text", k + 1)):
        x = rng.normal(0, 1, (len(y), d))
        x[:, :k] += np.eye(k)[y] * 2
        views[name] = x.astype(np.float32)
    return views, y, k


def _fit_predict(plugin: Any, make_classifier: Any, data: MultimodalData | None,
                 drop: Callable[[dict[str, np.ndarray]], None] | None = None,
                 train_mask: Callable[[np.ndarray], np.ndarray] | None = None,
                 ) -> tuple[Any, np.ndarray, np.ndarray, int]:
    """Fit a fresh ``plugin`` on 70% of tiny views (rows kept by ``train_mask``), then predict
    the rest (after ``drop`` blanks some of their rows): (fusion, proba, y_test, n_classes)."""
    if drop is None and train_mask is None:
        key = ("fusion", id(plugin), id(make_classifier), id(data))
        return _cached(key, lambda: _fit_predict_once(plugin, make_classifier, data))
    return _fit_predict_once(plugin, make_classifier, data, drop, train_mask)


def _fit_predict_once(plugin: Any, make_classifier: Any, data: MultimodalData | None,
                      drop: Callable[[dict[str, np.ndarray]], None] | None = None,
                      train_mask: Callable[[np.ndarray], np.ndarray] | None = None,
                      ) -> tuple[Any, np.ndarray, np.ndarray, int]:
    views, y, k = _views(data)
    cut = int(len(y) * 0.7)
    train = np.arange(cut)
    if train_mask is not None:
        train = train[train_mask(y[train])]
    tr = {m: v[train] for m, v in views.items()}
    te = {m: v[cut:].copy() for m, v in views.items()}
    fusion = fresh(plugin)
    _returns_self(plugin, fusion, fusion.fit(tr, y[train], make_classifier or _logreg), "fit()")
    if drop is None:
        return fusion, fusion.predict_proba(te), y[cut:], k
    drop(te)
    try:
        proba = fusion.predict_proba(te)
    except Exception as exc:
        _fail(plugin, f"predict_proba raised {type(exc).__name__}: {exc} on views with missing "
                      f"rows (all NaN); handle them, e.g. predict from the modalities present "
                      f"or the training class prior (see mmbench.protocols.Fusion)")
    return fusion, proba, y[cut:], k


def _logreg() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500)


def check_fusion_contract(plugin: Any) -> None:
    """Has ``fit``, ``predict_proba``, a ``level`` from :data:`LEVELS` and ``min_modalities``."""
    _contract("fusion", plugin)
    cls = plugin_class(plugin)
    if cls.level not in LEVELS:  # pragma: no cover - check_contract covers it
        _fail(plugin, f"level is {cls.level!r}; expected one of {LEVELS}")
    if not isinstance(cls.min_modalities, int) or cls.min_modalities < 1:
        _fail(plugin, f"min_modalities must be a positive integer, got {cls.min_modalities!r}")


def check_fusion_fit_returns_self(plugin: Any, make_classifier: Any = None,
                                  data: MultimodalData | None = None) -> None:
    """``fit(views, y, make_classifier)`` returns the strategy itself."""
    _fit_predict(plugin, make_classifier, data)


def check_fusion_predict_proba(plugin: Any, make_classifier: Any = None,
                               data: MultimodalData | None = None) -> np.ndarray:
    """``predict_proba(views)`` is ``float[N, n_classes]`` with rows summing to 1."""
    _, proba, y, k = _fit_predict(plugin, make_classifier, data)
    return _check_proba(plugin, proba, len(y), k, "predict_proba")


def check_fusion_learns(plugin: Any, make_classifier: Any = None,
                        data: MultimodalData | None = None) -> None:
    """Clearly better than chance when both views carry the class."""
    _, proba, y, k = _fit_predict(plugin, make_classifier, data)
    p = _check_proba(plugin, proba, len(y), k, "predict_proba")
    acc = float(np.mean(p.argmax(axis=1) == y))
    if acc <= 1.5 / k:
        _fail(plugin, f"accuracy {acc:.2f} is near chance ({1 / k:.2f}) on views that both "
                      f"carry the class")


def check_fusion_missing_modality(plugin: Any, make_classifier: Any = None,
                                  data: MultimodalData | None = None) -> None:
    """Test rows whose view is all NaN (a missing modality) still get valid probabilities."""
    def drop(te: dict[str, np.ndarray]) -> None:
        te["text"][0::3] = np.nan   # rows 0, 3, 6...: no caption
        te["image"][1::3] = np.nan  # rows 1, 4, 7...: no image

    _, proba, y, k = _fit_predict(plugin, make_classifier, data, drop=drop)
    _check_proba(plugin, proba, len(y), k, "predict_proba with missing modalities")


def check_fusion_class_missing_from_training(plugin: Any, make_classifier: Any = None,
                                             data: MultimodalData | None = None) -> None:
    """A class absent from the training split still gets its column (of zeros, or near)."""
    _, proba, y, k = _fit_predict(plugin, make_classifier, data,
                                  train_mask=lambda y_train: y_train != 1)
    _check_proba(plugin, proba, len(y), k, "predict_proba after training without class 1")


def check_fusion_leaves_views_alone(plugin: Any, make_classifier: Any = None,
                                    data: MultimodalData | None = None) -> None:
    """``fit`` and ``predict_proba`` do not modify the views they are given (they are shared
    between cells)."""
    views, y, _ = _views(data)
    before = {m: v.copy() for m, v in views.items()}
    fusion = fresh(plugin)
    fusion.fit(views, y, make_classifier or _logreg)
    fusion.predict_proba(views)
    for m, v in views.items():
        if not np.array_equal(v, before[m]):
            _fail(plugin, f"fit() or predict_proba() modified the {m!r} view in place; work "
                          f"on a copy (the runner shares views between cells)")


# ------------------------------------------------------------------------------------- lists

CHECKS: dict[str, list[Check]] = {
    "dataset": [check_dataset_contract, check_dataset_load, check_dataset_labels,
                check_dataset_samples, check_dataset_fingerprint],
    "featurizer": [check_featurizer_contract, check_featurizer_fit_returns_self,
                   check_featurizer_output, check_featurizer_rows_independent,
                   check_featurizer_deterministic],
    "fusion": [check_fusion_contract, check_fusion_fit_returns_self, check_fusion_predict_proba,
               check_fusion_learns, check_fusion_missing_modality,
               check_fusion_class_missing_from_training, check_fusion_leaves_views_alone],
    "classifier": [check_classifier_contract, check_classifier_params,
                   check_classifier_fit_returns_self, check_classifier_predict_proba,
                   check_classifier_labels_not_from_zero, check_classifier_learns],
}


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
        f"transform/modality, level or predict_proba); pass kind= one of {sorted(CHECKS)}"
    )


def checks_for(plugin: Any, kind: str | None = None) -> list[Check]:
    """The checks that apply to ``plugin`` (kind inferred unless given)."""
    kind = kind or kind_of(plugin)
    if kind not in CHECKS:
        raise ValueError(f"no checks for kind {kind!r}; kinds with checks: {sorted(CHECKS)}")
    return list(CHECKS[kind])
