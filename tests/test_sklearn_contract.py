"""The built-in classifiers keep scikit-learn's estimator contract, checked by scikit-learn's
own ``check_estimator``; their parameters are still refused when a suite is validated."""

from __future__ import annotations

import warnings

import pytest

from mmbench.checks import SKLEARN_SKIPPED
from mmbench.errors import UserError
from mmbench.plugins import get_catalog
from mmbench.registry import build

#: small models: check_estimator fits each a few hundred times
FAST = {"random-forest": {"n_estimators": 10, "n_jobs": 1},
        "xgboost": {"n_estimators": 10, "n_jobs": 1}}


@pytest.mark.parametrize("name", ["logreg", "linear-svm", "random-forest", "xgboost"])
def test_every_scikit_learn_estimator_check_passes(name):
    from sklearn.utils.estimator_checks import check_estimator

    clf = get_catalog()["classifier"].get(name).cls(**FAST.get(name, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(clf, on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:300] for r in results
              if r["status"] == "failed"}
    assert not failed, failed  # none skipped for the built-ins
    assert sum(r["status"] == "passed" for r in results) >= 50


@pytest.mark.parametrize("name,params,word", [
    ("logreg", {"C": -1.0}, "C"), ("logreg", {"standardize": "yes"}, "standardize"),
    ("linear-svm", {"C": "big"}, "C"), ("random-forest", {"n_estimators": 0}, "n_estimators"),
    ("xgboost", {"learning_rate": 2.0}, "learning_rate"), ("xgboost", {"max_depth": -1},
                                                           "max_depth"),
    ("xgboost", {"n_jobs": 0}, "n_jobs"), ("linear-svm", {"dual": "yes"}, "dual"),
])
def test_init_only_stores_and_validation_still_refuses_bad_values(name, params, word):
    entry = get_catalog()["classifier"].get(name)
    entry.cls(**params)  # scikit-learn's rule: __init__ stores, fit validates
    with pytest.raises(UserError, match=f"{name}.*{word}"):
        build(entry, params)  # what mmbench validate does, from _parameter_constraints


def test_every_skipped_check_says_why_and_is_documented():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text()
    for name, why in SKLEARN_SKIPPED.items():
        assert len(why) > 20 and f"`{name}`" in doc, name


def test_linear_svm_dual_and_primal_find_the_same_model():
    """``dual`` changes the solver, not the problem: on strongly regularized CIFAR-10 pixel
    features both give the same predictions and nearly the same probabilities."""
    import numpy as np

    from cifar_slice import cifar_images

    images, y = cifar_images(30)
    order = np.random.default_rng(0).permutation(len(y))  # the slice is sorted by class
    X = images[order].reshape(len(y), -1)[:, ::6].astype(np.float64) / 255.0  # 512 features
    y = y[order]
    cls = get_catalog()["classifier"].get("linear-svm").cls
    primal = cls(C=1e-3, dual=False, random_state=0).fit(X[:240], y[:240])
    dual = cls(C=1e-3, dual=True, random_state=0).fit(X[:240], y[:240])
    assert primal._final.calibrated_classifiers_[0].estimator.dual is False
    assert dual._final.calibrated_classifiers_[0].estimator.dual is True
    np.testing.assert_array_equal(primal.predict(X[240:]), dual.predict(X[240:]))
    np.testing.assert_allclose(primal.predict_proba(X[240:]), dual.predict_proba(X[240:]),
                               atol=1e-3)
