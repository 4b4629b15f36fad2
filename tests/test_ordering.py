"""A split's cells go to the executor longest first, by what the same cell took in an earlier
split (mmbench.ordering)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from mmbench import ordering
from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite

SUITE = """name = "order"
results_dir = "{root}/results"
cache_dir = "{root}/cache"
device = "cpu"
seeds = [0, 1, 2]

[[datasets]]
name = "synthetic"
params = {{ n = 120, n_classes = 3 }}
split = {{ method = "stratified", test_size = 0.25 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}

[[fusions]]
name = "concat"

[[classifiers]]
name = "logreg"

[[classifiers]]
name = "random-forest"
params = {{ n_estimators = 5 }}
"""

#: what each kind of cell "took": the run's own timings would make the test depend on speed
COST = {("unimodal", "logreg"): 1.0, ("unimodal", "random-forest"): 3.0,
        ("concat", "logreg"): 2.0, ("concat", "random-forest"): 4.0}


def _cost(cell: Any) -> float:
    return COST[(cell.fusion.name, cell.classifier.name)]


def test_later_splits_hand_over_their_cells_longest_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_done = ordering.LongestFirst.done
    monkeypatch.setattr(ordering.LongestFirst, "done", lambda self, cell, timings: real_done(
        self, cell, {"fit_s": _cost(cell)}))
    monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "suite.toml").write_text(SUITE.format(root=tmp_path))
    summary = run_suite(tmp_path / "suite.toml", Console(file=io.StringIO()),
                        catalog=get_catalog(), executor="local",
                        executor_options={"n_jobs": 1})
    assert summary.ran == 18 and not summary.failed
    records = ResultStore(summary.results_dir).records()
    by_seed: dict[int, list[Any]] = {}
    for r in sorted(records, key=lambda r: r["worker"]["started"]):
        by_seed.setdefault(r["seed"], []).append((r["fusion"]["name"], r["classifier"]["name"]))
    costs = {s: [COST[k] for k in order] for s, order in by_seed.items()}
    # the first split in plan order (nothing measured yet: cheap and dear cells interleaved),
    assert costs[0] != sorted(costs[0], reverse=True)
    # the later ones longest first
    for seed in (1, 2):
        assert costs[seed] == sorted(costs[seed], reverse=True), by_seed[seed]


def test_unmeasured_cells_go_first_in_plan_order() -> None:
    from mmbench.plan import Cell, Variant

    def cell(clf: str, seed: int) -> Cell:
        return Cell(Variant.of("dataset", "synthetic", {}), (), seed, 0,
                    (("image", Variant.of("featurizer", "hog-color", {})),),
                    Variant.of("fusion", "unimodal", {}), "unimodal",
                    Variant.of("classifier", clf, {}))

    order = ordering.LongestFirst()
    order.done(cell("a", 0), {"fit_s": 1.0, "tune_s": 0.5, "dims": 3})
    order.done(cell("b", 0), {"fit_s": 5.0})
    later = [cell(c, 1) for c in ("a", "new", "b", "other")]
    assert [c.classifier.name for c in order.order(later)] == ["new", "other", "b", "a"]
    assert order.took[ordering._kind(cell("a", 7))] == 1.5
