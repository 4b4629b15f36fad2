"""scikit-learn-contract classifiers with validated params and optional standardization.

Each class keeps a small, explicit parameter set (so suites are checked against it) and builds
the underlying estimator in ``_make()``. As scikit-learn asks, ``__init__`` only stores the
parameters and ``fit`` validates them; the rules are declared in ``_parameter_constraints``
(taken from the underlying library's own), which ``mmbench validate`` runs too, so a bad value
fails when the suite is validated, not in every cell. Each passes scikit-learn's
``check_estimator`` (``tests/test_sklearn_contract.py``).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.utils._param_validation import Interval, Options
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

_STANDARDIZE: dict[str, list[Any]] = {"standardize": ["boolean"]}


def _constraints(est: type, names: tuple[str, ...]) -> dict[str, list[Any]]:
    """The underlying estimator's rules for the parameters a wrapper passes on."""
    return {**{n: est._parameter_constraints[n] for n in names}, **_STANDARDIZE}


class _Wrapped(ClassifierMixin, BaseEstimator):
    """Fits ``[StandardScaler ->] self._make()``; exposes ``classes_``, ``n_features_in_``,
    ``predict_proba`` and ``predict``. Input is checked as scikit-learn checks it: finite
    dense 2-d floats (sparse input is refused: densify it), classification targets.

    :param C: inverse regularization strength (> 0): smaller is stronger regularization.
    :param max_iter: iteration limit of the solver.
    :param class_weight: ``"balanced"`` weighs each class inversely to its frequency in the
        training split; not set: every sample counts the same.
    :param standardize: standardize each feature (training mean and standard deviation) first.
    :param n_estimators: number of trees.
    :param max_depth: maximum depth of a tree.
    """

    standardize: bool
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def _make(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_model(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        est = self._make()
        model = make_pipeline(StandardScaler(), est) if self.standardize else est
        if getattr(self, "warm_start", False):
            _warm_from(getattr(self, "model_", None), model, X, y)
        self.model_ = model
        self.model_.fit(X, y)

    def fit(self, X: np.ndarray, y: np.ndarray) -> _Wrapped:
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        check_classification_targets(y)
        self._fit_model(X, y)
        self.classes_ = np.asarray(self.model_.classes_)
        return self

    @property
    def _final(self) -> Any:
        return self.model_[-1] if hasattr(self.model_, "steps") else self.model_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.model_.predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
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

    :param tol: the solver's stopping tolerance (lbfgs: on the projected gradient); smaller fits
        closer to the optimum, in more iterations.
    :param warm_start: a refit of a fitted instance (after ``set_params``) starts from its
        previous solution: tuning fits ``C`` along increasing values this way
        (``path_params``).
    """

    #: Parameters along which a warm-started refit is cheaper (see :mod:`mmbench.tuning`).
    path_params = ("C",)

    @classmethod
    def uses_seed(cls, params: dict[str, Any]) -> bool:
        """lbfgs is deterministic (scikit-learn's ``random_state`` only seeds the sag, saga and
        liblinear solvers): one fit stands for every seed (:mod:`mmbench.seed_sharing`)."""
        return False

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = _constraints(
        LogisticRegression, ("C", "max_iter", "tol", "class_weight", "random_state",
                             "warm_start"))

    def __init__(self, *, C: float = 1.0, max_iter: int = 300, tol: float = 1e-4,
                 class_weight: str | None = None, standardize: bool = True,
                 random_state: int | None = None, warm_start: bool = False) -> None:
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.standardize = standardize
        self.random_state = random_state
        self.warm_start = warm_start

    def converged(self) -> bool:
        """Whether the last fit stopped before ``max_iter`` (lbfgs met its tolerance)."""
        last = self.model_[-1] if hasattr(self.model_, "steps") else self.model_
        return bool(np.max(last.n_iter_) < self.max_iter)

    def _make(self) -> Any:
        return LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol,
                                  class_weight=self.class_weight, random_state=self.random_state,
                                  warm_start=self.warm_start)

    def fit(self, X: np.ndarray, y: np.ndarray) -> LogReg:
        super().fit(X, y)
        self.n_iter_ = np.asarray(self._final.n_iter_)
        return self


class LinearSVM(_Wrapped):
    """Linear SVM (liblinear) with sigmoid-calibrated probabilities (3-fold). ``class_weight``
    weights the samples of both the SVM and its calibration.

    :param dual: solve the dual problem (coordinate descent) rather than the primal
        (trust-region Newton); ``"auto"``: scikit-learn's rule, the primal when there are more
        samples than features. Both find the same optimum, to the solver's tolerance; with
        strong regularization (small ``C``) the dual is much faster: docs/classifiers.md.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = _constraints(
        LinearSVC, ("C", "max_iter", "class_weight", "random_state", "dual"))

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000, class_weight: str | None = None,
                 standardize: bool = True, random_state: int | None = None,
                 dual: bool | str = "auto") -> None:
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.standardize = standardize
        self.random_state = random_state
        self.dual = dual

    def _make(self) -> Any:
        from sklearn.calibration import CalibratedClassifierCV

        svc = LinearSVC(C=self.C, max_iter=self.max_iter, random_state=self.random_state,
                        dual=self.dual)
        return CalibratedClassifierCV(svc, method="sigmoid", cv=3)

    def _fit_model(self, X: np.ndarray, y: np.ndarray) -> None:
        from sklearn.utils.class_weight import compute_sample_weight

        super()._fit_model(X, y)  # unweighted when class_weight is None
        if self.class_weight is not None:
            weight = compute_sample_weight(self.class_weight, y)
            last = self.model_.steps[-1][0] if hasattr(self.model_, "steps") else None
            self.model_.fit(X, y, **({f"{last}__sample_weight": weight} if last
                                     else {"sample_weight": weight}))

    def fit(self, X: np.ndarray, y: np.ndarray) -> LinearSVM:
        super().fit(X, y)
        self.n_iter_ = max(int(np.max(c.estimator.n_iter_))
                           for c in self._final.calibrated_classifiers_)
        return self


class RandomForest(_Wrapped):
    """Random forest (scikit-learn); ``n_jobs`` cores (all in a serial run, one per worker).

    :param max_depth: maximum depth of a tree; not set: grown until leaves are pure or hold
        ``min_samples_leaf`` samples.
    :param min_samples_leaf: fewest training samples a leaf may hold.
    :param max_features: features tried at each split: ``"sqrt"``, ``"log2"``, or a share in
        (0, 1] of the features.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = _constraints(
        RandomForestClassifier, ("n_estimators", "max_depth", "min_samples_leaf", "max_features",
                                 "class_weight", "random_state", "n_jobs"))

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

    def _make(self) -> Any:
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

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        **_STANDARDIZE,
    }

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

    def _make(self) -> Any:
        from xgboost import XGBClassifier

        return XGBClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            learning_rate=self.learning_rate, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, tree_method="hist",
            random_state=self.random_state or 0, n_jobs=self.n_jobs, verbosity=0)

    def _fit_model(self, X: np.ndarray, y: np.ndarray) -> None:
        # XGBoost wants labels 0..k-1; a training split may miss a class.
        from sklearn.preprocessing import LabelEncoder

        self.encoder_ = LabelEncoder().fit(y)
        super()._fit_model(X, self.encoder_.transform(y))

    def fit(self, X: np.ndarray, y: np.ndarray) -> XGBoost:
        super().fit(X, y)
        self.classes_ = self.encoder_.classes_
        return self
