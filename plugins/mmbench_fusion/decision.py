"""Decision-level (late) fusion: one classifier per modality (each a fresh ``make_classifier()``),
their class probabilities combined.

Missing modality (all strategies): a sample's combination uses only the modalities it has; a
sample with none gets the training class prior. Stacking instead feeds the prior in place of a
missing modality's probabilities, since its meta-classifier needs every input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from mmbench.protocols import FusionBase, MakeClassifier, Views, expand_proba, missing_rows

from .common import alpha_notes, check_alpha, check_positive_int, check_seed


CALIBRATIONS = ("none", "temperature", "sigmoid", "isotonic")


class LateFusion(FusionBase):
    """Base class: fits one classifier per modality; subclasses define :meth:`combine`.

    With ``calibrate``, each modality's classifier is calibrated before the probabilities are
    combined, by scikit-learn's ``CalibratedClassifierCV(method=..., ensemble=False)`` on
    cross-fitted predictions: the training split is cut into the folds of ``inner_cv`` (3
    stratified folds without one), each fold's probabilities come from a classifier fitted on
    the other folds, the calibrator is fitted on those held-out probabilities, and the
    classifier used at test time is refitted on the whole training split. Temperature scaling
    divides the log-probabilities by one fitted temperature, so it never changes a modality's
    top class.

    :param calibrate: ``"none"``, ``"temperature"``, ``"sigmoid"`` or ``"isotonic"``: how each
        modality's probabilities are calibrated before they are combined.
    """

    level = "decision"
    min_modalities = 2

    def __init__(self, *, calibrate: str = "none", inner_cv: Any = None,
                 random_state: int | None = None) -> None:
        if calibrate not in CALIBRATIONS:
            raise ValueError(f"calibrate must be one of {CALIBRATIONS}, got {calibrate!r}")
        self.calibrate = calibrate
        self.inner_cv = inner_cv
        self.random_state = check_seed(random_state)
        self.clfs_: dict[str, Any] = {}

    @classmethod
    def uses_seed(cls, params: dict[str, Any]) -> bool:
        """The seed only shuffles the calibration folds (:mod:`mmbench.seed_sharing`)."""
        return params.get("calibrate", "none") != "none" and "random_state" not in params

    def _calibration_folds(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.inner_cv is None:
            from sklearn.model_selection import StratifiedKFold

            cv: Any = StratifiedKFold(3, shuffle=True, random_state=self.random_state)
            return list(cv.split(np.zeros(len(y)), y))
        if hasattr(self.inner_cv, "partition"):  # folds covering every row (mmbench's)
            return list(self.inner_cv.partition(y))
        return list(self.inner_cv.split(np.zeros(len(y)), y))

    def _fit_one(self, x: np.ndarray, y: np.ndarray, make_classifier: MakeClassifier) -> Any:
        if self.calibrate == "none":
            return make_classifier().fit(x, y)
        from sklearn.calibration import CalibratedClassifierCV

        return CalibratedClassifierCV(make_classifier(), method=self.calibrate,
                                      cv=self._calibration_folds(y), ensemble=False).fit(x, y)

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> LateFusion:
        self._set_classes(y)
        self.clfs_ = {m: self._fit_one(views[m], y, make_classifier) for m in sorted(views)}
        return self

    def modality_probas(self, views: Views) -> dict[str, np.ndarray]:
        """Per-modality probabilities; NaN rows where a sample lacks that modality."""
        out = {}
        for m, clf in self.clfs_.items():
            p = self._proba_or_prior(clf, views[m])
            p[missing_rows(views[m])] = np.nan
            out[m] = p
        return out

    def combine(self, probas: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """``probas[k, n, c]`` (NaN where modality k is missing) -> ``[n, c]``; rows without
        any modality are filled with the prior afterwards."""
        raise NotImplementedError

    def predict_proba(self, views: Views) -> np.ndarray:
        probas = self.modality_probas(views)
        stacked = np.stack([probas[m] for m in self.clfs_])
        present = ~np.isnan(stacked[:, :, 0])
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.combine(stacked)
        none = ~present.any(axis=0)
        out[none] = self.prior_
        out = np.nan_to_num(out, nan=0.0)
        return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-300)


def _present(stacked: np.ndarray) -> np.ndarray:
    return ~np.isnan(stacked[:, :, 0])


class LateMean(LateFusion):
    """One classifier per modality; the mean of their class probabilities.

    Missing modality: the mean over the modalities a sample has (the prior if it has none).
    """

    def combine(self, probas: np.ndarray) -> np.ndarray:
        present = _present(probas)
        return np.nansum(probas, axis=0) / np.maximum(present.sum(axis=0), 1)[:, None]


class LateWeighted(LateFusion):
    """One classifier per modality; ``alpha * P(primary) + (1 - alpha) * P(others)`` (the other
    modalities share ``1 - alpha`` equally). ``alpha = 1`` is the primary modality alone.

    Missing modality: weights renormalized over the modalities a sample has; if those all have
    weight 0 (``alpha = 1`` and no primary), their plain mean; no modality at all: the prior.

    Rows with ``alpha`` 1 or 0 are marked (``image alone``, ``image unused``).

    :param alpha: the weight, in [0, 1], of ``primary``'s probabilities; the other modalities
        share ``1 - alpha`` equally.
    :param primary: the modality ``alpha`` weighs; it must be among the fused ones.
    """

    def __init__(self, *, alpha: float = 0.5, primary: str = "image", calibrate: str = "none",
                 inner_cv: Any = None, random_state: int | None = None) -> None:
        super().__init__(calibrate=calibrate, inner_cv=inner_cv, random_state=random_state)
        self.alpha = check_alpha(alpha)
        if not isinstance(primary, str) or not primary:
            raise ValueError(f"primary must be a modality name, got {primary!r}")
        self.primary = primary

    @classmethod
    def notes(cls, params: dict[str, Any]) -> list[str]:
        """``image alone`` at ``alpha = 1``, ``image unused`` at ``alpha = 0``."""
        return alpha_notes(params)

    def check_dims(self, dims: Mapping[str, int | None]) -> list[str]:
        """Plan-time check that ``primary`` is one of the fused modalities."""
        if self.primary in dims:
            return []
        return [f"primary={self.primary!r} for fusion 'late-weighted' is not among its "
                f"modalities ({', '.join(dims)})"]

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> LateWeighted:
        if self.primary not in views:
            raise ValueError(f"primary modality {self.primary!r} is not among {list(views)}")
        super().fit(views, y, make_classifier)
        return self

    def combine(self, probas: np.ndarray) -> np.ndarray:
        names = list(self.clfs_)
        k = len(names) - 1
        w = np.array([self.alpha if m == self.primary else (1 - self.alpha) / k for m in names])
        present = _present(probas)
        wp = w[:, None] * present  # [k, n]
        total = wp.sum(axis=0)
        wp = np.where(total > 0, wp / np.where(total > 0, total, 1), present / np.maximum(
            present.sum(axis=0), 1))
        return np.einsum("kn,knc->nc", wp, np.nan_to_num(probas, nan=0.0))


class LateProduct(LateFusion):
    """One classifier per modality; the normalized geometric mean of their probabilities
    (a product of experts; probabilities are floored at 1e-9 so one zero cannot veto a class).

    Missing modality: the geometric mean over the modalities a sample has.
    """

    def combine(self, probas: np.ndarray) -> np.ndarray:
        present = _present(probas)
        logs = np.log(np.clip(np.nan_to_num(probas, nan=1.0), 1e-9, 1.0))
        mean = logs.sum(axis=0) / np.maximum(present.sum(axis=0), 1)[:, None]
        return np.exp(mean - mean.max(axis=1, keepdims=True))


class LateMax(LateFusion):
    """One classifier per modality; per sample, the probabilities of the most confident one
    (highest top-class probability).

    Missing modality: the most confident among the modalities a sample has.
    """

    def combine(self, probas: np.ndarray) -> np.ndarray:
        conf = np.where(_present(probas), np.nan_to_num(probas, nan=-1.0).max(axis=2), -1.0)
        best = conf.argmax(axis=0)
        return probas[best, np.arange(probas.shape[1])]


META = ("logreg", "classifier")


class Stacking(LateFusion):
    """One classifier per modality; a meta-classifier learns to combine their probabilities.

    The meta-classifier is trained on **out-of-fold** probabilities: the training split is cut
    into ``cv`` stratified folds and each fold's probabilities come from per-modality
    classifiers fitted on the other folds (never in-sample). The per-modality classifiers used
    at test time are then refitted on the whole training split.

    Missing modality: its probabilities are replaced by the training class prior (the
    meta-classifier needs every input); a sample with no modality gets the prior.

    :param cv: number of stratified folds (at least 2; fewer when a class has fewer samples)
        for the out-of-fold probabilities.
    :param meta: the meta-classifier: ``"logreg"`` (a multinomial logistic regression on the
        concatenated probabilities) or ``"classifier"`` (a fresh copy of the cell's own
        classifier).
    """

    def __init__(self, *, cv: int = 5, meta: Literal["logreg", "classifier"] = "logreg",
                 random_state: int | None = None) -> None:
        super().__init__(random_state=random_state)
        self.cv = check_positive_int("cv", cv)
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds, got {cv}")
        if meta not in META:
            raise ValueError(f"meta must be one of {META}, got {meta!r}")
        self.meta = meta
        self.random_state = check_seed(random_state)

    @classmethod
    def uses_seed(cls, params: dict[str, Any]) -> bool:
        """The seed shuffles the out-of-fold split (unless the suite fixes ``random_state``)."""
        return "random_state" not in params

    def _oof(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> np.ndarray:
        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y)
        folds = int(min(self.cv, counts[counts > 0].min()))
        if folds < 2:
            raise ValueError("stacking needs at least 2 training samples of every class")
        skf = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        names = sorted(views)
        oof = np.zeros((len(y), len(names) * self.n_classes_))
        for fit_idx, held_idx in skf.split(np.zeros(len(y)), y):
            for j, m in enumerate(names):
                clf = make_classifier().fit(views[m][fit_idx], y[fit_idx])
                p = expand_proba(clf.predict_proba(views[m][held_idx]), clf.classes_,
                                 self.n_classes_)
                oof[held_idx, j * self.n_classes_:(j + 1) * self.n_classes_] = p
        return oof

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> Stacking:
        self._set_classes(y)
        self.oof_ = self._oof(views, y, make_classifier)
        if self.meta == "logreg":
            from sklearn.linear_model import LogisticRegression

            self.meta_ = LogisticRegression(max_iter=1000)
        else:
            self.meta_ = make_classifier()
        self.meta_.fit(self.oof_, y)
        super().fit(views, y, make_classifier)
        return self

    def predict_proba(self, views: Views) -> np.ndarray:
        probas = self.modality_probas(views)
        none = np.all([np.isnan(p[:, 0]) for p in probas.values()], axis=0)
        feats = np.hstack([np.where(np.isnan(probas[m]), self.prior_, probas[m])
                           for m in self.clfs_])
        out = self._full_proba(self.meta_, feats)
        out[none] = self.prior_
        return out
