"""A tuned cell learns a representation fusion's representation once per inner fold (and per
fusion candidate), refitting only the classifier for each classifier candidate: the same
choice, scores and predictions as fitting every candidate whole, with fewer fits."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from mmbench import tuning
from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite
from mmbench_fusion import feature, structure

SUITE = """name = "stages"
results_dir = "{root}/results"
cache_dir = "{root}/cache"
device = "cpu"
seeds = [0, 1]
inner = {{ method = "kfold", k = 3 }}

[[datasets]]
name = "synthetic"
params = {{ n = 240, n_classes = 4 }}
split = {{ method = "stratified", test_size = 0.25 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 128, min_df = 1 }}

[[fusions]]
name = "pls"
params = {{ n_components = 4 }}

[[fusions]]
name = "weighted-sum"
params = {{ alpha = [0.25, 0.75], dim = 8 }}
select = "validation"

[[classifiers]]
name = "logreg"
tune = {{ C = [0.01, 0.1, 1.0] }}
"""


PLS_MODEL, PROJECTOR_FIT = structure.PLS._model, feature.Projector.fit


def _run(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ResultStore, dict[str, int]]:
    """Run the suite under ``root``, counting the PLS and PCA-projection fits."""
    counts = {"pls": 0, "projector": 0}

    def model(self: Any, n: int) -> Any:
        counts["pls"] += 1
        return PLS_MODEL(self, n)

    def fit(self: Any, views: Any) -> Any:
        counts["projector"] += 1
        return PROJECTOR_FIT(self, views)

    monkeypatch.setattr(structure.PLS, "_model", model)
    monkeypatch.setattr(feature.Projector, "fit", fit)
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(root / "cache"))
    root.mkdir()
    (root / "suite.toml").write_text(SUITE.format(root=root))
    summary = run_suite(root / "suite.toml", Console(file=io.StringIO()), catalog=get_catalog())
    assert summary.ran == 8 and not summary.failed  # and the 2 unimodal rows
    return ResultStore(summary.results_dir), counts


def _by_cell(store: ResultStore) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["fusion"]["name"], r["seed"]): r for r in store.records()
            if r["fusion"]["name"] != "unimodal"}


def test_a_tuned_cell_learns_the_representation_once_per_fold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared, counts = _run(tmp_path / "shared", monkeypatch)
    tuning._FITS.clear()
    monkeypatch.setattr(tuning.Stages, "keep", lambda self, params, fusion: None)
    whole, whole_counts = _run(tmp_path / "whole", monkeypatch)  # every candidate fitted whole

    # per seed: PLS 3 folds x 1 representation + the final fit (whole: 3 folds x 3 C + 1);
    # weighted-sum 3 folds x 2 alphas + the final fit + 1 oracle refit of the other alpha
    # (whole: 3 x 6 + 1 + 5 oracle refits)
    assert counts == {"pls": 2 * (3 + 1), "projector": 2 * (3 * 2 + 1 + 1)}
    assert whole_counts == {"pls": 2 * (9 + 1), "projector": 2 * (18 + 1 + 5)}
    a, b = _by_cell(shared), _by_cell(whole)
    assert a.keys() == b.keys() == {(f, s) for f in ("pls", "weighted-sum") for s in (0, 1)}
    for key, record in a.items():
        twin = b[key]
        assert record["tuning"]["fits"]["fusions_reused"] == (
            3 * 2 if key[0] == "pls" else 3 * 4)
        assert twin["tuning"]["fits"]["fusions_reused"] == 0
        for part in ("chosen", "scores", "candidates"):
            assert record["tuning"].get(part) == twin["tuning"].get(part), (key, part)
        assert record["metrics"] == twin["metrics"]
        np.testing.assert_array_equal(shared.predictions(record["cell_id"])["proba"],
                                      whole.predictions(twin["cell_id"])["proba"])
