"""scikit-learn-contract classifiers with validated params and optional standardization.

Each class keeps a small, explicit parameter set (so suites are checked against it) and builds
the underlying estimator in ``_make()``. Parameters are validated in ``__init__`` by the
underlying library's own rules, so a bad value fails when the suite is validated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class _Wrapped(ClassifierMixin, BaseEstimator):
    """Fits ``[StandardScaler ->] self._make()``; exposes ``classes_`` and ``predict_proba``.

    :param C: inverse regularization strength (> 0): smaller is stronger regularization.
    :param max_iter: iteration limit of the solver.
    :param class_weight: ``"balanced"`` weighs each class inversely to its frequency in the
        training split; not set: every sample counts the same.
    :param standardize: standardize each feature (training mean and standard deviation) first.
    :param n_estimators: number of trees.
    :param max_depth: maximum depth of a tree.
    """

    standardize: bool

    def _make(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self) -> None:
        est = self._make()
        if hasattr(est, "_parameter_constraints"):  # scikit-learn's own parameter rules
            est._validate_params()
        if not isinstance(self.standardize, bool):
            raise ValueError(f"standardize must be true or false, got {self.standardize!r}")

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Wrapped:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        est = self._make()
        model = make_pipeline(StandardScaler(), est) if self.standardize else est
        if getattr(self, "warm_start", False):
            _warm_from(getattr(self, "model_", None), model, X, y)
        self.model_ = model
        self.model_.fit(X, y)
        self.classes_ = np.asarray(self.model_.classes_)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _warm_from(previous: Any, model: Any, X: np.ndarray, y: np.ndarray) -> None:
    """Start ``model``'s final estimator from ``previous``'s solution when both have the same
    structure, features and classes (a refit along a regularisation path); else leave it."""
    last = lambda m: m[-1] if hasattr(m, "steps") else m  # noqa: E731
    if previous is None or type(previous) is not type(model):
        return
    old, new = last(previous), last(model)
    if hasattr(old, "coef_") and old.coef_.shape[1] == X.shape[1] and np.array_equal(
            old.classes_, np.unique(y)):
        new.coef_, new.intercept_ = old.coef_.copy(), old.intercept_.copy()


class LogReg(_Wrapped):
    """Multinomial logistic regression (scikit-learn, lbfgs) on standardized features.

    :param warm_start: a refit of a fitted instance (after ``set_params``) starts from its
        previous solution: tuning fits ``C`` along increasing values this way
        (``path_params``).
    """

    #: Parameters along which a warm-started refit is cheaper (see :mod:`mmbench.tuning`).
    path_params = ("C",)

    def __init__(self, *, C: float = 1.0, max_iter: int = 300, class_weight: str | None = None,
                 standardize: bool = True, random_state: int | None = None,
                 warm_start: bool = False) -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.standardize = standardize
        self.random_state = random_state
        self.warm_start = warm_start
        self._check()

    def converged(self) -> bool:
        """Whether the last fit stopped before ``max_iter`` (lbfgs met its tolerance)."""
        last = self.model_[-1] if hasattr(self.model_, "steps") else self.model_
        return bool(np.max(last.n_iter_) < self.max_iter)

    def _make(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=self.max_iter,
                                  class_weight=self.class_weight, random_state=self.random_state,
                                  warm_start=self.warm_start)


class LinearSVM(_Wrapped):
    """Linear SVM (liblinear) with sigmoid-calibrated probabilities (3-fold)."""

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000, class_weight: str | None = None,
                 standardize: bool = True, random_state: int | None = None) -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.standardize = standardize
        self.random_state = random_state
        self._check()

    def _svc(self) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
                         random_state=self.random_state)

    def _check(self) -> None:
        self._svc()._validate_params()
        super()._check()

    def _make(self) -> Any:
        from sklearn.calibration import CalibratedClassifierCV

        return CalibratedClassifierCV(self._svc(), method="sigmoid", cv=3)


class RandomForest(_Wrapped):
    """Random forest (scikit-learn); ``n_jobs`` cores (all in a serial run, one per worker).

    :param max_depth: maximum depth of a tree; not set: grown until leaves are pure or hold
        ``min_samples_leaf`` samples.
    :param min_samples_leaf: fewest training samples a leaf may hold.
    :param max_features: features tried at each split: ``"sqrt"``, ``"log2"``, or a share in
        (0, 1] of the features.
    """

    def __init__(self, *, n_estimators: int = 200, max_depth: int | None = None,
                 min_samples_leaf: int = 1, max_features: str | float = "sqrt",
                 class_weight: str | None = None, standardize: bool = False,
                 random_state: int | None = None, n_jobs: int = -1) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.class_weight = class_weight
        self.standardize = standardize
        self.random_state = random_state
        self.n_jobs = n_jobs
        self._check()

    def _make(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf, max_features=self.max_features,
            class_weight=self.class_weight, random_state=self.random_state, n_jobs=self.n_jobs)


class XGBoost(_Wrapped):
    """Gradient-boosted trees (XGBoost, hist); ``n_jobs`` threads (-1: all cores).

    :param max_depth: maximum depth of a tree (0: no limit).
    :param learning_rate: shrinkage of each tree's contribution, in (0, 1].
    :param subsample: share of the training samples, in (0, 1], each tree is grown on.
    :param colsample_bytree: share of the features, in (0, 1], each tree may use.
    """

    def __init__(self, *, n_estimators: int = 200, max_depth: int = 6,
                 learning_rate: float = 0.1, subsample: float = 1.0,
                 colsample_bytree: float = 1.0, standardize: bool = False,
                 random_state: int | None = None, n_jobs: int = -1) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.standardize = standardize
        self.random_state = random_state
        self.n_jobs = n_jobs
        self._check()

    def _check(self) -> None:
        for name, lo, hi in (("n_estimators", 1, None), ("max_depth", 0, None)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
        for name in ("learning_rate", "subsample", "colsample_bytree"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        if not isinstance(self.n_jobs, int) or isinstance(self.n_jobs, bool) or self.n_jobs == 0:
            raise ValueError(f"n_jobs must be a nonzero integer (-1: all cores), got "
                             f"{self.n_jobs!r}")
        super()._check()

    def _make(self) -> Any:
        from xgboost import XGBClassifier

        return XGBClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            learning_rate=self.learning_rate, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, tree_method="hist",
            random_state=self.random_state or 0, n_jobs=self.n_jobs, verbosity=0)

    def fit(self, X: np.ndarray, y: np.ndarray) -> XGBoost:
        # XGBoost wants labels 0..k-1; a training split may miss a class.
        from sklearn.preprocessing import LabelEncoder

        self.encoder_ = LabelEncoder().fit(y)
        super().fit(X, self.encoder_.transform(y))
        self.classes_ = self.encoder_.classes_
        return self
