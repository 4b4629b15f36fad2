"""Built-in classifiers and featurizers against the plugin conformance checks."""

from __future__ import annotations

import numpy as np
import pytest

from mmbench.errors import UserError
from mmbench.plugins import get_catalog
from mmbench.registry import build
from mmbench.testing import (check_classifier, check_dataset, check_featurizer, check_fusion,
                             tiny_data)

CLASSIFIERS = ["logreg", "linear-svm", "random-forest", "xgboost"]


#: small forests: the kit runs scikit-learn's check_estimator, which fits each many times
SMALL = {"random-forest": {"n_estimators": 10, "n_jobs": 1},
         "xgboost": {"n_estimators": 10, "n_jobs": 1}}


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_classifier_conformance(name):
    check_classifier(get_catalog()["classifier"].get(name).cls, **SMALL.get(name, {}))


@pytest.mark.parametrize("name,params", [
    ("logreg", {"C": -1.0}),
    ("linear-svm", {"C": "big"}),
    ("random-forest", {"n_estimators": 0}),
    ("xgboost", {"learning_rate": 2.0}),
    ("xgboost", {"max_depth": -1}),
])
def test_classifier_rejects_bad_params_when_built(name, params):
    entry = get_catalog()["classifier"].get(name)
    with pytest.raises(UserError, match=name):
        build(entry, params)


def test_xgboost_handles_a_class_missing_from_training():
    cls = get_catalog()["classifier"].get("xgboost").cls
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), np.repeat([0, 2, 3], 20)
    clf = cls(n_estimators=5).fit(X, y)
    assert list(clf.classes_) == [0, 2, 3]
    assert clf.predict_proba(X).shape == (60, 3)


@pytest.mark.parametrize("name,params", [
    ("tfidf", {"max_features": 50, "min_df": 1}),
    ("hog-color", {"pixels_per_cell": 4}),
    ("pixels", {"stride": 2}),
    ("tfidf", {"max_features": 50, "min_df": 1, "sublinear_tf": False}),
])
def test_featurizer_conformance(name, params):
    out = check_featurizer(build(get_catalog()["featurizer"].get(name), params))
    assert out.shape[1] > 0


def test_tfidf_vocabulary_comes_from_training_split_only():
    from mmbench_features import Tfidf

    feat = Tfidf(max_features=100, min_df=1, ngram_max=1).fit(["red apple", "blue sky"])
    out = feat.transform(["zebra", "red zebra"])
    assert out[0].sum() == 0 and out[1].sum() > 0  # unseen word has no column


@pytest.mark.parametrize("name,params", [
    ("unimodal", {"modality": "image"}), ("concat", {"normalize": "l2"}), ("late-mean", {}),
    ("weighted-sum", {}), ("late-weighted", {}), ("late-product", {}), ("late-max", {}),
    ("stacking", {"cv": 3}), ("cca", {}), ("pls", {}), ("tensor", {}),
    ("low-rank-tensor", {"epochs": 3}), ("joint-embedding", {"epochs": 3, "hidden": 16}),
])
def test_fusion_conformance(name, params):
    check_fusion(get_catalog()["fusion"].get(name).cls, **params)


def test_dataset_conformance():
    data = check_dataset(get_catalog()["dataset"].get("synthetic").cls, n=60, n_classes=4)
    assert len(data) == 60 and len(data.class_names) == 4


def test_tiny_data_modalities_are_each_informative():
    data = tiny_data(n=300)
    assert set(data.modalities) == {"image", "text"} and len(data) == 300
    assert len(set(data.y.tolist())) == 3
