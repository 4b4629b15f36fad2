"""Comparing two runs: paired McNemar where both scored the same samples, Welch otherwise,
Holm-corrected; and the statistics against values known by hand."""

from __future__ import annotations

import shutil

import numpy as np
from report_kit import build_results, write_cell

from mmbench.cli import main
from mmbench.compare import compare_runs, welch
from mmbench.stats import discordant, holm, mcnemar_exact
from mmbench.results import ResultStore


def test_statistics_known_values():
    a = np.array([True] * 10 + [False] * 5)
    b = np.array([False] * 10 + [False] * 5)
    y = np.ones(15, dtype=int)
    nb, nc = discordant(y, a.astype(int), b.astype(int))
    assert (nb, nc) == (10, 0) and np.isclose(mcnemar_exact(nb, nc), 2 * 0.5**10)
    assert mcnemar_exact(*discordant(y, a.astype(int), a.astype(int))) == 1.0
    assert np.allclose(holm(np.array([0.01, 0.04, np.nan, 0.03])),
                       [0.03, 0.06, np.nan, 0.06], equal_nan=True)
    assert welch(np.array([0.5, 0.6, 0.55]), np.array([0.8, 0.85, 0.9])) < 0.01
    assert np.isnan(welch(np.array([0.5]), np.array([0.6, 0.7])))


def test_compare_paired_and_welch(tmp_path, capsys):
    a = build_results(tmp_path / "a", with_extras=False)
    b = tmp_path / "b"
    shutil.copytree(a, b)
    store = ResultStore(b)
    for seed in range(3):  # B's concat is much worse on the same test samples
        rec = next(r for r in store.records() if r["cell_id"] == f"cat{seed}")
        write_cell(store, f"cat{seed}", rec["fusion"], "feature", ["image", "text"], seed, 0.4)
    df, metric = compare_runs(a, b)
    assert metric == "accuracy" and len(df) == 8
    top = df.iloc[0]
    assert top["fusion"] == "concat" and top["diff"] < -0.3 and top["significant"]
    assert top["test"].startswith("McNemar exact, 3 paired")
    assert not df.iloc[1:]["significant"].any() and (df.iloc[1:]["diff"] == 0).all()

    shutil.rmtree(b / "predictions")  # no paired predictions: Welch over seeds
    df, _ = compare_runs(a, b)
    assert df.iloc[0]["test"].startswith("Welch t, 3 vs 3") and df.iloc[0]["significant"]
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "1 of 8 differences significant" in out
