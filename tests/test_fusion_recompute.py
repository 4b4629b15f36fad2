"""Stored fusion results agree with an independent recomputation: a concat cell and a late-mean
cell, redone from the cached features with plain scikit-learn."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mmbench.cache import FeatureCache
from mmbench.featurize import FeatureProvider
from mmbench.plan import Variant
from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite

DATASETS = {  # (dataset table, HOG cell size for its image size)
    "synthetic": ('name = "synthetic"\nparams = { n = 240, n_classes = 4 }', 4),
    "cifar10": ('name = "cifar10"\nparams = { per_class = 24 }', 8),
}


def suite_text(tmp: Path, dataset: str) -> str:
    return f"""name = "recompute-{dataset}"
results_dir = "{tmp / 'results'}"
cache_dir = "{tmp / 'cache'}"
device = "cpu"

[[datasets]]
{DATASETS[dataset][0]}
split = {{ method = "stratified", test_size = 0.25 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = {DATASETS[dataset][1]} }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 128, min_df = 1 }}

[[fusions]]
name = "concat"

[[fusions]]
name = "late-mean"

[[classifiers]]
name = "logreg"
params = {{ C = 0.5 }}
"""


def logreg(seed: int) -> object:
    """The logreg plugin's model, spelled out in plain scikit-learn."""
    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=0.5, max_iter=300, random_state=seed))


@pytest.mark.parametrize("dataset", ["synthetic", "cifar10"])
def test_concat_and_late_mean_recomputed_independently(
        dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if dataset == "cifar10" and not os.environ.get("MMBENCH_DATA_DIR"):
        pytest.skip("MMBENCH_DATA_DIR is not set (the shared CIFAR-10 copy)")
    if not os.environ.get("MMBENCH_CACHE_DIR"):  # else reuse its unpacked CIFAR-10 copy
        monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "suite.toml"
    path.write_text(suite_text(tmp_path, dataset))
    catalog = get_catalog()
    summary = run_suite(path, Console(file=io.StringIO()), catalog=catalog)
    assert summary.ran == 4 and not summary.failed
    store = ResultStore(summary.results_dir)
    records = {r["fusion"]["name"]: r for r in store.records() if r["level"] != "unimodal"}
    assert set(records) == {"concat", "late-mean"}

    record = records["concat"]
    ds = record["dataset"]
    data = catalog["dataset"].get(ds["name"]).cls(**ds["params"]).load()
    assert data.fingerprint == record["dataset_fingerprint"]
    stored = {name: store.predictions(r["cell_id"]) for name, r in records.items()}
    test = stored["concat"]["test_index"]
    np.testing.assert_array_equal(test, stored["late-mean"]["test_index"])
    train = np.setdiff1d(np.arange(len(data)), test)  # splits are sorted index sets
    y_tr, y_te = data.y[train], data.y[test]
    np.testing.assert_array_equal(stored["concat"]["y_true"], y_te)

    # the features, read back from the run's cache (nothing is recomputed)
    provider = FeatureProvider(FeatureCache(tmp_path / "cache" / "features"), catalog, {})
    views = {}
    for m, f in record["featurizers"].items():
        views[m] = provider.features(Variant.of("featurizer", f["name"], f["params"]),
                                     data, train, test)
    assert provider.computed == 0, "features were not found in the run's cache"
    names = sorted(views)
    seed = record["seed"]

    scalers = {m: StandardScaler().fit(views[m][0]) for m in names}
    x_tr = np.hstack([scalers[m].transform(views[m][0]) for m in names])
    x_te = np.hstack([scalers[m].transform(views[m][1]) for m in names])
    concat_pred = logreg(seed).fit(x_tr, y_tr).predict(x_te)

    probas = [logreg(seed).fit(views[m][0], y_tr).predict_proba(views[m][1]) for m in names]
    late_pred = np.mean(probas, axis=0).argmax(axis=1)

    for name, pred in (("concat", concat_pred), ("late-mean", late_pred)):
        acc = float(np.mean(pred == y_te))
        stored_acc = records[name]["metrics"]["accuracy"]
        assert abs(acc - stored_acc) <= 1.0 / len(y_te) + 1e-12, (name, acc, stored_acc)
        assert np.mean(pred == stored[name]["y_pred"]) >= 0.98, name
