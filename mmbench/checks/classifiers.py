"""Classifier rules: scikit-learn's contract (``get_params``, ``clone``, ``classes_``,
probabilities), labels that do not start at 0, learning a separable problem, and
scikit-learn's own ``check_estimator`` suite (:data:`SKLEARN_SKIPPED` lists what is left out)."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from .base import cached, check_proba, contract, fail, fresh, plugin_class, returns_self

#: scikit-learn checks that ``check_classifier_sklearn_suite`` leaves out, and why: each is
#: about something mmbench never does to a classifier.
_NO_WEIGHTS = "mmbench never passes sample_weight to fit"
_DENSE = "mmbench passes dense float32 feature matrices, never sparse ones"
SKLEARN_SKIPPED = {
    "check_do_not_raise_errors_in_init_or_set_params":
        "mmbench builds every plugin when it validates a suite, so refusing a bad value in "
        "__init__ serves as well as declaring _parameter_constraints (checked in fit)",
    "check_sample_weight_equivalence_on_dense_data": _NO_WEIGHTS,
    "check_sample_weight_equivalence_on_sparse_data": _NO_WEIGHTS,
    "check_sample_weights_not_an_array": _NO_WEIGHTS,
    "check_sample_weights_list": _NO_WEIGHTS,
    "check_sample_weights_shape": _NO_WEIGHTS,
    "check_sample_weights_not_overwritten": _NO_WEIGHTS,
    "check_sample_weights_invariance": _NO_WEIGHTS,
    "check_classifiers_one_label_sample_weights": _NO_WEIGHTS,
    "check_estimator_sparse_array": _DENSE,
    "check_estimator_sparse_matrix": _DENSE,
    "check_estimator_sparse_tag": _DENSE,
    "check_dtype_object": "mmbench passes float32 feature matrices, never object arrays",
}


def separable(n: int = 90, labels: tuple[int, ...] = (0, 1, 2),
              ) -> tuple[np.ndarray, np.ndarray]:
    """A well-separated problem: 4 features, classes 3 apart, noise of std 0.3."""
    rng = np.random.default_rng(0)
    y = np.asarray(labels)[np.arange(n) % len(labels)]
    X = rng.normal(0, 0.3, (n, 4)) + np.eye(max(labels) + 1, 4)[y] * 3
    return X, y


def check_classifier_contract(plugin: Any) -> None:
    """Has ``fit``, ``predict_proba`` and ``get_params``."""
    contract("classifier", plugin)


def check_classifier_params(plugin: Any) -> None:
    """``get_params()`` returns the ``__init__`` parameters and ``sklearn.clone`` keeps them."""
    from sklearn.base import clone

    clf = fresh(plugin)
    params = clf.get_params()
    init = set(inspect.signature(plugin_class(plugin).__init__).parameters) - {"self"}
    missing = sorted(p for p in init if p not in params and p not in ("args", "kwargs"))
    if missing:
        fail(plugin, f"get_params() lacks the __init__ parameter(s) {missing}; store each "
                     f"parameter unchanged as an attribute of the same name")
    try:
        cloned = clone(clf)
    except Exception as exc:
        fail(plugin, f"sklearn.base.clone() failed: {type(exc).__name__}: {exc}")
    if cloned.get_params() != params:
        fail(plugin, f"clone() changed the parameters: {params} became {cloned.get_params()}")


def _fit_classifier(plugin: Any) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """(classifier, what fit returned, X, y) on the separable problem."""
    def compute() -> tuple[Any, Any, np.ndarray, np.ndarray]:
        clf = fresh(plugin)
        X, y = separable()
        return clf, clf.fit(X, y), X, y

    return cached(("classifier", id(plugin)), compute)


def check_classifier_fit_returns_self(plugin: Any) -> None:
    """``fit(X, y)`` returns the classifier itself."""
    clf, result, _, _ = _fit_classifier(plugin)
    returns_self(plugin, clf, result, "fit()")


def check_classifier_predict_proba(plugin: Any) -> None:
    """``classes_`` are the sorted training labels; ``predict_proba`` has one column per class
    and rows of probabilities that sum to 1."""
    clf, _, X, y = _fit_classifier(plugin)
    classes = list(np.asarray(getattr(clf, "classes_", [])).tolist())
    if classes != [0, 1, 2]:
        fail(plugin, f"after fit() classes_ must be the sorted training labels [0, 1, 2], got "
                     f"{getattr(clf, 'classes_', 'no classes_ attribute')}")
    check_proba(plugin, clf.predict_proba(X), len(y), 3, "predict_proba")


def check_classifier_labels_not_from_zero(plugin: Any) -> None:
    """Labels need not be ``0..k-1``: a split may lack a class (fusions map columns through
    ``classes_``)."""
    clf = fresh(plugin)
    X, y = separable(labels=(0, 2, 3))
    clf.fit(X, y)
    classes = list(np.asarray(getattr(clf, "classes_", [])).tolist())
    if classes != [0, 2, 3]:
        fail(plugin, f"trained on labels 0, 2, 3, classes_ must be [0, 2, 3], got "
                     f"{getattr(clf, 'classes_', 'no classes_ attribute')}")
    check_proba(plugin, clf.predict_proba(X), len(y), 3, "predict_proba (labels 0, 2, 3)")


def check_classifier_learns(plugin: Any) -> None:
    """Better than 90% training accuracy on a well-separated problem."""
    clf, _, X, y = _fit_classifier(plugin)
    proba = np.asarray(clf.predict_proba(X))
    acc = float(np.mean(np.asarray(clf.classes_)[proba.argmax(axis=1)] == y))
    if acc <= 0.9:
        fail(plugin, f"accuracy {acc:.2f} on a well-separated 3-class problem (expected > 0.9)")


def check_classifier_sklearn_suite(plugin: Any) -> None:
    """scikit-learn's own ``check_estimator`` passes, but for :data:`SKLEARN_SKIPPED`."""
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            results = check_estimator(fresh(plugin), on_fail=None)
        except Exception as exc:  # noqa: BLE001 - e.g. no __sklearn_tags__: not an estimator
            fail(plugin, f"scikit-learn's check_estimator could not run: "
                         f"{type(exc).__name__}: {exc}; derive the class from "
                         f"sklearn.base.ClassifierMixin and BaseEstimator")
    failed = {r["check_name"]: " ".join(str(r["exception"]).split())[:200] for r in results
              if r["status"] == "failed" and r["check_name"] not in SKLEARN_SKIPPED}
    if failed:
        listing = "; ".join(f"{name}: {why}" for name, why in sorted(failed.items()))
        fail(plugin, f"fails {len(failed)} of scikit-learn's estimator checks ({listing}); "
                     f"check input with sklearn.utils.validation.validate_data in fit and "
                     f"predict_proba, and call check_is_fitted before predicting")
