"""The example plugin against mmbench's test kit: every contract rule, its parameter check,
its entry point, and a run in a tiny suite."""

from __future__ import annotations

import pytest

import mmbench_example
from mmbench.plugins import load_catalog
from mmbench.testing import parametrize_with_checks
from mmbench_example import CosineKNN

SUITE = """
name = "cosine-knn-demo"
seeds = [0]

[[datasets]]
name = "synthetic"
params = { n = 90, n_classes = 3 }

[[featurizers]]
name = "hog-color"
params = { pixels_per_cell = 4 }

[[featurizers]]
name = "tfidf"
params = { max_features = 64, min_df = 1 }

[[fusions]]
name = "concat"

[[classifiers]]
name = "cosine-knn"
params = { n_neighbors = [1, 5] }
"""


@parametrize_with_checks([CosineKNN(), CosineKNN(n_neighbors=1)])
def test_mmbench_contract(plugin, check):
    check(plugin)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "5"])
def test_bad_n_neighbors_is_refused(bad):
    with pytest.raises(ValueError, match="n_neighbors must be a positive integer"):
        CosineKNN(n_neighbors=bad)


def test_found_through_its_entry_point():
    entry = load_catalog()["classifier"].get("cosine-knn")
    assert entry.distribution == "mmbench-example-plugin" and entry.cls is CosineKNN


def test_runs_in_a_suite(mmbench_registered, mmbench_run_suite):
    mmbench_registered(mmbench_example)
    summary = mmbench_run_suite(SUITE)
    assert summary.ran == 6 and not summary.failed, summary.failed
