"""Fusion rules: ``fit`` returning self, probabilities, learning, missing modalities (some,
all, and never changing the complete rows), a class absent from training, views left alone.

Each fits on the first 70% of :func:`~mmbench.checks.data.fusion_views` and predicts the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..protocols import LEVELS, MultimodalData
from .base import (cached, check_proba, contract, fail, fresh, near_chance, plugin_class,
                   returns_self)
from .data import fusion_views


def _fit_predict(plugin: Any, make_classifier: Any, data: MultimodalData | None,
                 drop: Callable[[dict[str, np.ndarray]], None] | None = None,
                 train_mask: Callable[[np.ndarray], np.ndarray] | None = None,
                 ) -> tuple[Any, np.ndarray, np.ndarray, int]:
    """Fit ``plugin`` on 70% of the views (rows kept by ``train_mask``; shared within a run
    when all are kept), then predict the rest after ``drop`` blanked some of their rows:
    (fusion, proba, y_test, n_classes)."""
    views, y, k = fusion_views(data)
    cut = int(len(y) * 0.7)
    if train_mask is None:
        key = ("fusion", id(plugin), id(make_classifier), id(data))
        fusion = cached(key, lambda: _fit(plugin, make_classifier, views, y, np.arange(cut)))
    else:
        train = np.arange(cut)
        fusion = _fit(plugin, make_classifier, views, y, train[train_mask(y[train])])
    te = {m: v[cut:].copy() for m, v in views.items()}
    if drop is None:
        return fusion, fusion.predict_proba(te), y[cut:], k
    drop(te)
    try:
        proba = fusion.predict_proba(te)
    except Exception as exc:
        fail(plugin, f"predict_proba raised {type(exc).__name__}: {exc} on views with missing "
                     f"rows (all NaN); handle them, e.g. predict from the modalities present "
                     f"or the training class prior (see mmbench.protocols.Fusion)")
    return fusion, proba, y[cut:], k


def _fit(plugin: Any, make_classifier: Any, views: dict[str, np.ndarray], y: np.ndarray,
         train: np.ndarray) -> Any:
    fusion = fresh(plugin)
    tr = {m: v[train] for m, v in views.items()}
    returns_self(plugin, fusion, fusion.fit(tr, y[train], make_classifier or logreg), "fit()")
    return fusion


def logreg() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=500)


def check_fusion_contract(plugin: Any) -> None:
    """Has ``fit``, ``predict_proba``, a ``level`` from :data:`LEVELS` and ``min_modalities``."""
    contract("fusion", plugin)
    cls = plugin_class(plugin)
    if cls.level not in LEVELS:  # pragma: no cover - check_contract covers it
        fail(plugin, f"level is {cls.level!r}; expected one of {LEVELS}")
    if not isinstance(cls.min_modalities, int) or cls.min_modalities < 1:
        fail(plugin, f"min_modalities must be a positive integer, got {cls.min_modalities!r}")


def check_fusion_fit_returns_self(plugin: Any, make_classifier: Any = None,
                                  data: MultimodalData | None = None) -> None:
    """``fit(views, y, make_classifier)`` returns the strategy itself."""
    _fit_predict(plugin, make_classifier, data)


def check_fusion_predict_proba(plugin: Any, make_classifier: Any = None,
                               data: MultimodalData | None = None) -> np.ndarray:
    """``predict_proba(views)`` is ``float[N, n_classes]`` with rows summing to 1."""
    _, proba, y, k = _fit_predict(plugin, make_classifier, data)
    return check_proba(plugin, proba, len(y), k, "predict_proba")


def check_fusion_learns(plugin: Any, make_classifier: Any = None,
                        data: MultimodalData | None = None) -> None:
    """Clearly better than chance (more than 1.5 x) when every view carries the class."""
    _, proba, y, k = _fit_predict(plugin, make_classifier, data)
    p = check_proba(plugin, proba, len(y), k, "predict_proba")
    acc = float(np.mean(p.argmax(axis=1) == y))
    views, _, _ = fusion_views(data)
    widths = ", ".join(f"{m} {v.shape[1]}" for m, v in views.items())
    near_chance(plugin, acc, k, len(y), int(len(views[next(iter(views))]) * 0.7),
                f"views that each carry the class (widths: {widths})")


def check_fusion_missing_modality(plugin: Any, make_classifier: Any = None,
                                  data: MultimodalData | None = None) -> None:
    """Test rows whose view is all NaN (a missing modality) still get valid probabilities."""
    def drop(te: dict[str, np.ndarray]) -> None:
        first, second = list(te)[:2]
        te[second][0::3] = np.nan  # rows 0, 3, 6...: no second modality (no caption)
        te[first][1::3] = np.nan   # rows 1, 4, 7...: no first modality (no image)

    _, proba, y, k = _fit_predict(plugin, make_classifier, data, drop=drop)
    check_proba(plugin, proba, len(y), k, "predict_proba with missing modalities")


def check_fusion_class_missing_from_training(plugin: Any, make_classifier: Any = None,
                                             data: MultimodalData | None = None) -> None:
    """A class absent from the training split still gets its column (of zeros, or near)."""
    _, proba, y, k = _fit_predict(plugin, make_classifier, data,
                                  train_mask=lambda y_train: y_train != 1)
    check_proba(plugin, proba, len(y), k, "predict_proba after training without class 1")


def check_fusion_leaves_views_alone(plugin: Any, make_classifier: Any = None,
                                    data: MultimodalData | None = None) -> None:
    """``fit`` and ``predict_proba`` do not modify the views they are given (they are shared
    between cells)."""
    views, y, _ = fusion_views(data)
    before = {m: v.copy() for m, v in views.items()}
    fusion = fresh(plugin)
    fusion.fit(views, y, make_classifier or logreg)
    fusion.predict_proba(views)
    for m, v in views.items():
        if not np.array_equal(v, before[m]):
            fail(plugin, f"fit() or predict_proba() modified the {m!r} view in place; work "
                         f"on a copy (the runner shares views between cells)")


def check_fusion_all_missing_gives_prior(plugin: Any, make_classifier: Any = None,
                                         data: MultimodalData | None = None) -> None:
    """Test rows missing every modality get the training class prior."""
    def drop(te: dict[str, np.ndarray]) -> None:
        for v in te.values():
            v[:5] = np.nan  # rows 0-4: nothing at all

    views, y_all, k = fusion_views(data)
    cut = int(len(y_all) * 0.7)
    prior = np.bincount(y_all[:cut], minlength=k) / cut
    _, proba, y, k = _fit_predict(plugin, make_classifier, data, drop=drop)
    p = check_proba(plugin, proba, len(y), k, "predict_proba with rows missing every modality")
    off = np.abs(p[:5] - prior).max()
    if off > 1e-6:
        fail(plugin, f"rows missing every modality got {np.round(p[0], 4).tolist()} instead of "
                     f"the training class prior {np.round(prior, 4).tolist()} (max difference "
                     f"{off:.3g}); return the prior for them (FusionBase._set_classes keeps it "
                     f"as prior_)")


def check_fusion_complete_rows_unchanged(plugin: Any, make_classifier: Any = None,
                                         data: MultimodalData | None = None) -> None:
    """A complete row's probabilities do not depend on other rows of the batch missing a
    modality (no statistics are taken from the test batch)."""
    def drop(te: dict[str, np.ndarray]) -> None:
        first = next(iter(te))
        te[first][1::2] = np.nan  # odd rows lose their first modality; even rows stay whole

    _, full, y, k = _fit_predict(plugin, make_classifier, data)
    _, part, _, _ = _fit_predict(plugin, make_classifier, data, drop=drop)
    a = check_proba(plugin, full, len(y), k, "predict_proba")[0::2]
    b = check_proba(plugin, part, len(y), k, "predict_proba with missing rows")[0::2]
    diff = np.abs(a - b)
    if diff.max() > 1e-6:
        r = int(np.argwhere(diff > 1e-6)[0][0]) * 2
        fail(plugin, f"the probabilities of complete row {r} changed (max difference "
                     f"{diff.max():.3g}) when other rows of the batch lost a modality; "
                     f"impute and scale with statistics of the training views, never of the "
                     f"batch being predicted")


def check_fusion_refit_classifier(plugin: Any, make_classifier: Any = None,
                                  data: MultimodalData | None = None) -> None:
    """A fusion with ``refit_classifier`` (a ``RepresentationFusion``, whose representation is
    learned once for every classifier a tuned cell tries): another classifier refitted on the
    fitted representation predicts what a full fit with it predicts, and the fusion it came
    from predicts as before."""
    if not callable(getattr(plugin_class(plugin), "refit_classifier", None)):
        return
    from sklearn.linear_model import LogisticRegression

    views, y, _ = fusion_views(data)
    cut = int(len(y) * 0.7)
    tr = {m: v[:cut] for m, v in views.items()}
    te = {m: v[cut:] for m, v in views.items()}
    other = lambda: LogisticRegression(C=0.01, max_iter=500)  # noqa: E731
    fusion = fresh(plugin).fit(tr, y[:cut], make_classifier or logreg)
    before = fusion.predict_proba(te)
    refit = fusion.refit_classifier(tr, y[:cut], other).predict_proba(te)
    full = fresh(plugin).fit(tr, y[:cut], other).predict_proba(te)
    if np.abs(refit - full).max() > 1e-9:
        fail(plugin, f"refit_classifier() with another classifier predicts up to "
                     f"{np.abs(refit - full).max():.3g} away from fit() with it; the "
                     f"representation must not depend on the classifier (else do not derive "
                     f"from RepresentationFusion)")
    if not np.array_equal(fusion.predict_proba(te), before):
        fail(plugin, "refit_classifier() changed the fusion it was called on; return a copy "
                     "with the new classifier")
