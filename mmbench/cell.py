"""Evaluate one cell: build its fusion and classifier, fit on train views, score test views.

A pure function of its inputs, so any executor can run it in any process.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .featurize import instantiate
from .cost import PeakRSS
from .errors import PluginOutputError
from .metrics import SCALAR_METRICS, compute_metrics
from .plan import Cell
from .probabilities import proba_problem
from .protocols import Views
from .readonly import InputWriteError, guard, plugin_input
from .robustness import RobustViews, curves
from .scoring import proper_scores
from .stats import metric_intervals
from .tuning import FitPool, InnerSplit, Pooled, Tuned, oracle, search


@dataclass
class CellOutcome:
    """What a cell produced: metrics, timings, and its test predictions."""

    metrics: dict[str, Any]
    timings: dict[str, float]
    y_pred: np.ndarray
    proba: np.ndarray
    dims: dict[str, int] = field(default_factory=dict)
    robustness: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    #: a tuned cell's choice (:meth:`mmbench.tuning.Tuned.record`)
    tuning: dict[str, Any] = field(default_factory=dict)
    #: where and when it ran: host, pid, and ``started``/``finished`` (epoch seconds)
    worker: dict[str, Any] = field(default_factory=dict)


def evaluate_cell(
    cell: Cell,
    train: Views,
    y_train: np.ndarray,
    test: Views,
    y_test: np.ndarray,
    n_classes: int,
    catalog: Any,
    device: str = "cpu",
    robust: RobustViews | None = None,
    class_names: tuple[str, ...] = (),
    threads: int | None = None,
    groups: np.ndarray | None = None,
) -> CellOutcome:
    """Fit the cell's fusion (with fresh classifiers from its factory) and score it; then score
    the same fitted fusion on each corrupted copy of the test views in ``robust``.

    ``threads`` is the number of threads (or processes) the cell may use when an executor runs
    several cells at once: plugins whose ``__init__`` takes ``n_jobs`` then get it unless the
    suite sets it, so a random forest in one of two pool workers does not fight its neighbour
    for the cores. ``None`` (a serial run) leaves ``n_jobs`` at the plugin's default.

    A tuned cell first chooses its values on the inner split of the training split (``groups``:
    the training rows' groups, if any; see :mod:`mmbench.tuning`), then fits with them."""
    started = time.time()
    context: dict[str, Any] = {"random_state": cell.seed, "device": device,
                               "class_names": tuple(class_names)}
    if threads is not None:
        context["n_jobs"] = threads
    options = dict(cell.options)
    if "inner" in options:  # tuned or calibrated: the inner split of this training split
        context["inner_cv"] = InnerSplit(dict(options["inner"]), cell.seed, groups)
    clf_entry = catalog["classifier"].get(cell.classifier.name)
    fusion_entry = catalog["fusion"].get(cell.fusion.name)

    def build(variant: Any, ctx: Any) -> Any:
        return instantiate(catalog[variant.kind].get(variant.name), variant, ctx)

    who = (f"fusion {cell.fusion.label} (plugin {fusion_entry.plugin}) with classifier "
           f"{cell.classifier.label} (plugin {clf_entry.plugin})")
    # read-only: shared with the other cells of the split and with the feature cache
    train, test = _given(train), _given(test)
    y_train, y_test = plugin_input(y_train), plugin_input(y_test)
    inputs = {**{f"the training view {m!r}": v for m, v in train.items()},
              **{f"the test view {m!r}": v for m, v in test.items()},
              "the training labels": y_train}
    tuned: Tuned | None = None
    select = cell.fusion.select or cell.classifier.select
    pool = FitPool(warm=False)  # a tuned cell's final fit (and select refits) may be shared
    t_tune = time.perf_counter()
    try:
        if cell.fusion.tune or cell.classifier.tune:
            with guard(who, inputs):
                tuned = search(cell, train, y_train, n_classes, context["inner_cv"],
                               options["select_by"], build, context)
        fusion_v, clf_v = (tuned.fusion, tuned.classifier) if tuned else (cell.fusion,
                                                                          cell.classifier)

        def make_classifier() -> Any:
            clf = instantiate(clf_entry, clf_v, context)
            return Pooled(clf, pool) if tuned is not None else clf

        fusion = instantiate(fusion_entry, fusion_v, context)
        t0 = time.perf_counter()
        with PeakRSS() as peak, guard(who, inputs):
            fusion.fit(dict(train), y_train, make_classifier)
        t1 = time.perf_counter()
        with guard(who, inputs):
            proba = fusion.predict_proba(dict(test))
        t2 = time.perf_counter()
        proba = check_proba(proba, len(y_test), n_classes, who)
        t_oracle = time.perf_counter()
        if tuned is not None and select:
            with guard(who, inputs):
                tuned.candidates = oracle(cell, tuned, train, y_train, test, y_test,
                                          n_classes, build, context, pool, proba, fusion)
    except InputWriteError:
        raise
    except PluginOutputError as exc:  # e.g. a classifier's probabilities, checked in a fusion
        if str(exc).startswith(who):  # check_proba's own, already naming the cell's plugins
            raise
        raise PluginOutputError(f"{who}: {exc}") from exc
    oracle_s = time.perf_counter() - t_oracle
    y_pred = proba.argmax(axis=1)
    metrics = compute_metrics(y_test, y_pred, n_classes)
    metrics["ci"] = metric_intervals(y_test, y_pred, n_classes)
    proba = proba.astype(np.float32)  # as stored: the scores can be recomputed exactly
    metrics.update(proper_scores(y_test, proba, n_classes))
    t3 = time.perf_counter()
    robustness = score_robust(fusion, [(n, lv, _given(v)) for n, lv, v in robust or []],
                              y_test, n_classes, metrics)
    t4 = time.perf_counter()
    finished = time.time()
    timings = {"fit_s": t1 - t0, "predict_s": t2 - t1, "score_s": t3 - t2 - oracle_s}
    if robust:
        timings["robust_s"] = t4 - t3
    if tuned is not None:  # the inner search, and a select cell's test-oracle refits
        timings["tune_s"] = t0 - t_tune + oracle_s
    # building the plugins, read-only views, output checks (what the cell spends elsewhere)
    timings["cell_other_s"] = max(finished - started - (t4 - t_tune), 0.0)
    return CellOutcome(
        metrics=metrics,
        timings=timings,
        tuning=tuned.record() if tuned is not None else {},
        y_pred=y_pred,
        proba=proba,
        dims={m: int(v.shape[1]) for m, v in train.items()},
        robustness=robustness,
        memory={"fit_peak_rss_mb": peak.delta_mb},
        worker={"host": socket.gethostname(), "pid": os.getpid(), "started": started,
                "finished": finished},
    )


def _given(views: Views) -> dict[str, np.ndarray]:
    """Read-only views of each matrix, in a dict of the cell's own."""
    return {m: plugin_input(np.asarray(v)) for m, v in views.items()}


def check_proba(proba: Any, n: int, n_classes: int, who: str) -> np.ndarray:
    """``proba`` as float64[n, n_classes] of probabilities (finite, in [0, 1], rows summing
    to 1: see :mod:`.probabilities`), or a :class:`PluginOutputError`
    saying what ``who`` returned instead (the cell is then not recorded)."""
    try:
        out = np.asarray(proba, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PluginOutputError(f"{who}: predict_proba returned {type(proba).__name__}, not "
                                f"numbers ({exc}); expected float[{n}, {n_classes}]") from exc
    if out.shape != (n, n_classes):
        raise PluginOutputError(
            f"{who}: predict_proba returned shape {out.shape}; expected ({n}, {n_classes}): one "
            f"row per test sample, one column per class in label order")
    problem = proba_problem(out)
    if problem is not None:
        raise PluginOutputError(f"{who}: {problem}")
    return out


def score_robust(fusion: Any, robust: RobustViews, y_test: np.ndarray, n_classes: int,
                 clean: dict[str, Any]) -> dict[str, Any]:
    """Curves of the fitted ``fusion`` over corrupted test views (see :mod:`.robustness`); a
    corruption whose prediction raises is recorded with its error, the cell still counts."""
    scored: list[tuple[str, float, Any]] = []
    for name, level, views in robust:
        try:
            p = check_proba(fusion.predict_proba(views), len(y_test), n_classes, "fusion")
            scored.append((name, level, compute_metrics(y_test, p.argmax(axis=1), n_classes)))
        except Exception as exc:  # recorded in the curve, never crashes the cell
            scored.append((name, level, exc))
    return curves(clean, scored, SCALAR_METRICS)
