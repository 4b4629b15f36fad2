"""Choosing a cell's tuned values on the inner split of its training split, never on test.

A tuned cell (a ``tune`` table or ``select = "validation"`` on its fusion or classifier entry)
runs a grid search of its own: for every fold of the inner split (:class:`InnerSplit`, seeded
by the cell's seed, so every cell of a split sees the same folds), every candidate (fusion
params x classifier params, in scikit-learn's ``ParameterGrid`` order) is fitted on the
fold's fitting part and scored on its held-out part with the suite's headline metric. The
candidate with the best mean score over folds wins (ties: the first in grid order), as
``GridSearchCV`` decides; the cell is then refitted with it on the whole training split.

Three things keep the search cheap without changing what it chooses:

- **fits are shared**: a classifier fitted on the same matrix and labels with the same params
  is fitted once (late fusions re-use their per-modality classifiers across a swept ``alpha``,
  and their unimodal cells' inner fits when they run in the same process); the features are
  the cell's cached ones, sliced per fold once;
- **a fusion's representation is learned once**: a fusion that learns a representation and
  classifies it (:class:`~mmbench.protocols.RepresentationFusion`: concat, weighted-sum, PLS,
  CCA, tensor, the torch fusions) is fitted once per fold and fusion candidate; each classifier
  candidate only refits the classifier on that representation (``fusions_reused`` in the
  record's ``tuning.fits``), as does a ``select`` cell's test-oracle refit of its candidates;
- **warm starts along a regularisation path**: a classifier declaring ``path_params`` (the
  built-in ``logreg``: ``C``) and a ``warm_start`` parameter is fitted along increasing values
  of those params, each fit starting from the previous solution on the same data. A warm fit
  that stops short of convergence (its ``converged()`` says False) is redone cold, so it
  ends where ``GridSearchCV``'s cold fit ends; a converged one differs from it only within
  the solver's tolerance.

With ``select = "validation"`` every candidate is also refitted on the whole training split
and scored on the test split, so the leaderboard can show how much choosing on test would
have flattered the row (``optimism``); those test scores never influence the choice.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .metrics import SCALAR_METRICS, compute_metrics
from .plan import Cell, Variant
from .protocols import Views
from .splits import imbalance_train
from .tuning_spec import grid_points


class InnerSplit:
    """The inner split of a training split, as a scikit-learn splitter (``split(X, y,
    groups)``): stratified k-fold or one stratified validation part, group-aware when the rows
    have groups (``groups`` of the whole training split; a subset's are found by length)."""

    def __init__(self, spec: Mapping[str, Any], seed: int,
                 groups: np.ndarray | None = None) -> None:
        self.spec = dict(spec)
        self.seed = int(seed)
        self.groups = None if groups is None else np.asarray(groups)

    def subset(self, index: np.ndarray) -> InnerSplit:
        """The same split for a subset of the rows (their groups follow them)."""
        return InnerSplit(self.spec, self.seed,
                          None if self.groups is None else self.groups[index])

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.spec["k"] if self.spec["method"] == "kfold" else 1

    def _groups(self, y: np.ndarray, groups: Any) -> np.ndarray | None:
        if groups is not None:
            return np.asarray(groups)
        return self.groups if self.groups is not None and len(self.groups) == len(y) else None

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[
            tuple[np.ndarray, np.ndarray]]:
        """The (fit, held-out) pairs of :func:`mmbench.splits.inner_splits` (a class too small
        for them: its :class:`~mmbench.splits.SplitError`)."""
        from .splits import inner_splits

        y = np.asarray(y)
        yield from inner_splits(y, self._groups(y, groups), split_spec(self.spec), self.seed)

    def partition(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Folds whose held-out parts cover every row once (for cross-fitted calibration): the
        k folds, or for a validation fraction ``f`` about ``1 / f`` folds."""
        if self.spec["method"] == "kfold":
            return list(self.split(None, y))
        k = max(2, int(round(1 / self.spec["fraction"])))
        return list(InnerSplit({"method": "kfold", "k": k}, self.seed, self.groups).split(
            None, y))


def score(y_true: np.ndarray, proba: np.ndarray, metric: str, n_classes: int) -> float:
    """The headline ``metric`` of predicted probabilities (as the cell's metrics compute it)."""
    return float(compute_metrics(y_true, np.asarray(proba).argmax(axis=1), n_classes)[metric])


def _digest(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a)
    return hashlib.blake2b(a.view(np.uint8).reshape(-1).data, digest_size=16).digest() + repr(
        (a.shape, a.dtype.str)).encode()


#: Fitted classifiers kept per process (least recently used dropped first), shared by the cells
#: of a split: a late fusion's inner fits are its unimodal cells' inner fits.
KEPT_FITS = 256
_FITS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


class FitPool:
    """Fitted classifiers shared by every fit that asks for the same class, params and data
    (within a cell and, through :data:`KEPT_FITS` kept per process, across the cells of a
    split); and one cell's previous solution of each path, for warm starts."""

    def __init__(self, warm: bool = True) -> None:
        self.fits = _FITS
        self.last: dict[Any, Any] = {}
        self.warm = warm
        self.fitted = 0  # fits actually run
        self.shared = 0  # fits answered from the pool
        self.redone = 0  # warm fits that did not converge, redone cold

    def __deepcopy__(self, memo: dict[int, Any]) -> FitPool:  # clones share the pool
        return self


class Pooled(ClassifierMixin, BaseEstimator):
    """A cell's classifier whose fits go through a :class:`FitPool` (clone-safe: clones share
    the pool). ``path`` names the warm-start path this fit lies on, if any."""

    def __init__(self, estimator: Any = None, pool: FitPool | None = None,
                 path: Any = None) -> None:
        self.estimator = estimator
        self.pool = pool
        self.path = path

    def fit(self, X: np.ndarray, y: np.ndarray) -> Pooled:
        params = tuple(sorted((k, repr(v)) for k, v in
                              self.estimator.get_params(deep=False).items()))
        data = (_digest(X), _digest(np.asarray(y)))
        pool = self.pool
        warm = pool.warm and self.path is not None
        key = (type(self.estimator).__qualname__, params, *data, warm)  # warm fits never
        if key in pool.fits:                                              # answer cold asks
            pool.shared += 1
            pool.fits.move_to_end(key)
            self.estimator_ = pool.fits[key]
        else:
            est = self.estimator
            path = (self.path, *data)  # warm start only from a fit on the same rows
            prev = pool.last.get(path) if warm else None
            if prev is not None:
                est = copy.deepcopy(prev)
                est.set_params(**{**self.estimator.get_params(deep=False),
                                  "warm_start": True})
                est.fit(X, y)
                if getattr(est, "converged", lambda: True)() is False:
                    pool.redone += 1  # stopped short of the optimum: the cold fit instead
                    est = copy.deepcopy(self.estimator).fit(X, y)
            else:
                est = copy.deepcopy(est).fit(X, y)
            pool.fitted += 1
            pool.fits[key] = self.estimator_ = est
            while len(pool.fits) > KEPT_FITS:
                pool.fits.popitem(last=False)
            if warm:
                pool.last[path] = est
        self.classes_ = np.asarray(self.estimator_.classes_)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass
class Tuned:
    """What a tuned cell chose, and from what."""

    fusion: Variant
    classifier: Variant
    chosen: dict[str, dict[str, Any]]
    scores: list[dict[str, Any]]
    inner: dict[str, Any]
    metric: str
    fits: dict[str, int] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)  # select: test scores

    def record(self) -> dict[str, Any]:
        out = {"chosen": self.chosen, "metric": self.metric, "inner": self.inner,
               "scores": self.scores, "fits": self.fits}
        if self.candidates:
            out["candidates"] = self.candidates
        return out


Build = Callable[[Variant, Mapping[str, Any]], Any]


def split_grid(cell: Cell) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(fusion params, classifier params) of every candidate, in ``ParameterGrid`` order of
    the joint grid (keys ``fusion__<p>`` and ``classifier__<p>``)."""
    joint = {**{f"fusion__{k}": v for k, v in cell.fusion.grid.items()},
             **{f"classifier__{k}": v for k, v in cell.classifier.grid.items()}}
    out = []
    for point in grid_points(joint):
        fp = {k[8:]: v for k, v in point.items() if k.startswith("fusion__")}
        cp = {k[12:]: v for k, v in point.items() if k.startswith("classifier__")}
        out.append((fp, cp))
    return out


def make_factory(build: Build, variant: Variant, context: Mapping[str, Any], pool: FitPool,
                 path_group: Any = None) -> Callable[[], Pooled]:
    """A ``make_classifier`` whose classifiers fit through ``pool``; the ``i``-th call of a
    fusion's fit lies on warm-start path ``(path_group, i)``."""
    calls = iter(range(10**9))
    warmable = path_group is not None and "warm_start" in build(variant, context).get_params()

    def make() -> Pooled:
        path = (path_group, next(calls)) if warmable else None
        return Pooled(build(variant, context), pool, path)

    return make


class Stages:
    """Fusions fitted on one training set, by fusion params: a fusion candidate whose fitted
    representation (:class:`~mmbench.protocols.RepresentationFusion`) is already there only
    refits its classifier (``refit_classifier``); the numbers are those of a full fit."""

    def __init__(self) -> None:
        self.fitted: dict[str, Any] = {}
        self.reused = 0

    def keep(self, params: Mapping[str, Any], fusion: Any) -> None:
        """Remember ``fusion``, fitted with fusion ``params``, if it can refit its classifier."""
        if callable(getattr(fusion, "refit_classifier", None)):
            self.fitted[repr(sorted(params.items()))] = fusion

    def fit(self, make: Callable[[], Any], params: Mapping[str, Any], views: Views,
            y: np.ndarray, make_classifier: Callable[[], Any]) -> Any:
        """``make()`` fitted on ``views``, ``y`` with ``make_classifier``, or a fitted fusion
        of the same ``params`` with only its classifier refitted."""
        done = self.fitted.get(repr(sorted(params.items())))
        if done is not None:
            self.reused += 1
            return done.refit_classifier(views, y, make_classifier)
        fusion = make()
        fusion.fit(views, y, make_classifier)
        self.keep(params, fusion)
        return fusion


def search(cell: Cell, views: Views, y: np.ndarray, n_classes: int, inner: InnerSplit,
           metric: str, build: Build, context: Mapping[str, Any]) -> Tuned:
    """Score every candidate on the inner folds of ``(views, y)`` and pick the best (see the
    module docstring). ``build(variant, context)`` instantiates a plugin."""
    points = split_grid(cell)
    probe = build(cell.classifier.with_params(points[0][1]), context)
    path_params = tuple(getattr(type(probe), "path_params", ()))
    # evaluation order: along each path (other params fixed), path params increasing
    def order(i: int) -> tuple[Any, ...]:
        fp, cp = points[i]
        rest = repr(sorted((k, v) for k, v in {**fp, **cp}.items() if k not in path_params))
        return (rest, *[_sortable(cp.get(p)) for p in path_params])

    pool = FitPool(warm=bool(path_params))
    folds = list(inner.split(None, y))
    table = np.full((len(points), len(folds)), np.nan)
    reused = 0
    for j, (fit_idx, val_idx) in enumerate(folds):
        fit_views = {m: np.asarray(v)[fit_idx] for m, v in views.items()}
        val_views = {m: np.asarray(v)[val_idx] for m, v in views.items()}
        sub = {**context, "inner_cv": inner.subset(fit_idx)}
        stages = Stages()  # per fold: a representation fusion learns its part once
        for i in sorted(range(len(points)), key=order):
            fp, cp = points[i]
            group = (j, repr(sorted((k, v) for k, v in {**fp, **cp}.items()
                                    if k not in path_params)))
            fusion = stages.fit(lambda fp=fp: build(cell.fusion.with_params(fp), sub), fp,
                                fit_views, y[fit_idx], make_factory(
                                    build, cell.classifier.with_params(cp), sub, pool,
                                    group if path_params else None))
            table[i, j] = score(y[val_idx], fusion.predict_proba(val_views), metric, n_classes)
        reused += stages.reused
    means = table.mean(axis=1)
    best = int(np.flatnonzero(means == means.max())[0])
    fp, cp = points[best]
    return Tuned(cell.fusion.with_params(fp), cell.classifier.with_params(cp),
                 {"fusion": fp, "classifier": cp},
                 [{"fusion": p[0], "classifier": p[1], "mean": float(means[i]),
                   "folds": [float(s) for s in table[i]]} for i, p in enumerate(points)],
                 dict(inner.spec), metric, {"fitted": pool.fitted, "shared": pool.shared,
                                            "redone_cold": pool.redone,
                                            "fusions_reused": reused})


def _sortable(value: Any) -> Any:
    return (0, value) if isinstance(value, int | float) and not isinstance(value, bool) else (
        1, repr(value))


def oracle(cell: Cell, tuned: Tuned, train: Views, y_train: np.ndarray, test: Views,
           y_test: np.ndarray, n_classes: int, build: Build, context: Mapping[str, Any],
           pool: FitPool, chosen_proba: np.ndarray, chosen: Any = None,
           ) -> list[dict[str, Any]]:
    """Every candidate refitted on the whole training split and scored on test (the chosen
    one's probabilities and, optionally, its fitted fusion are given): what a sweep read off
    the test split would have shown."""
    out = []
    stages = Stages()
    stages.keep(tuned.chosen["fusion"], chosen)
    for fp, cp in split_grid(cell):
        if fp == tuned.chosen["fusion"] and cp == tuned.chosen["classifier"]:
            proba = chosen_proba
        else:
            fusion = stages.fit(lambda fp=fp: build(cell.fusion.with_params(fp), context), fp,
                                dict(train), y_train, make_factory(
                                    build, cell.classifier.with_params(cp), context, pool))
            proba = fusion.predict_proba(dict(test))
        m = compute_metrics(y_test, np.asarray(proba).argmax(axis=1), n_classes)
        out.append({"fusion": fp, "classifier": cp, "test": {k: m[k] for k in SCALAR_METRICS}})
    return out


def split_spec(inner: Mapping[str, Any]) -> dict[str, Any]:
    """A suite's ``inner`` table as a :mod:`mmbench.splits` spec."""
    if inner["method"] == "kfold":
        return {"method": "kfold", "k": int(inner["k"])}
    return {"method": "stratified", "test_size": float(inner["fraction"])}


def inner_problem(cells: list[Cell], data: Any,
                  splits: Mapping[tuple[Any, ...], tuple[np.ndarray, np.ndarray]],
                  imbalance: Any = None) -> str | None:
    """Why the inner split of some training split of ``cells`` (those that tune or calibrate)
    cannot be made, naming the class and the seed, or None. ``splits``: the run's (split, seed,
    fold) -> (train, test). Checked once the data is loaded, before any work."""
    from .splits import SplitError, inner_splits, split_label

    seen: set[tuple[Any, ...]] = set()
    for cell in cells:
        options = dict(cell.options)
        if "inner" not in options:
            continue
        spec = dict(options["inner"])
        calibrated = cell.fusion.kwargs.get("calibrate", "none") != "none" or any(
            v != "none" for v in cell.fusion.grid.get("calibrate", []))
        specs = [split_spec(spec)]
        if calibrated and spec["method"] != "kfold":  # calibration cross-fits ~1/f folds
            specs.append({"method": "kfold", "k": max(2, int(round(1 / spec["fraction"])))})
        for inner in specs:
            key = (cell.split, cell.seed, cell.fold, repr(inner))
            if key in seen:
                continue
            seen.add(key)
            train, _ = splits[(cell.split, cell.seed, cell.fold)]
            if imbalance is not None:
                train = imbalance_train(train, data.y, imbalance.ratio, cell.seed)
            groups = None if data.groups is None else np.asarray(data.groups)[train]
            try:
                inner_splits(data.y[train], groups, inner, cell.seed, data.class_names)
            except SplitError as exc:
                where = f"seed {cell.seed}" + (f" fold {cell.fold}" if cell.fold else "")
                return (f"the inner split {split_label(inner)} of {where}'s training split "
                        f"({len(train)} rows) is impossible: {exc}")
    return None
