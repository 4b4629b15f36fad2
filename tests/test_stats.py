"""mmbench.stats: bootstrap coverage, McNemar's exact test, Holm, metrics on resample batches."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from mmbench.metrics import compute_metrics
from mmbench.stats import (bootstrap_ci, discordant, holm, mcnemar_exact, metric_value,
                           paired_bootstrap_diff_ci)


def test_bootstrap_interval_covers_true_accuracy_at_about_the_stated_rate() -> None:
    # A classifier with true accuracy 0.8 on test sets of 150 samples: its 95% intervals
    # must contain 0.8 about 95% of the time.
    rng = np.random.default_rng(123)
    true_acc, n, sims = 0.8, 150, 300
    hits = 0
    for _ in range(sims):
        y = rng.integers(0, 5, n)
        right = rng.random(n) < true_acc
        pred = np.where(right, y, (y + rng.integers(1, 5, n)) % 5)
        lo, hi = bootstrap_ci(y, pred, 5, n_resamples=400, seed=int(rng.integers(1 << 30)))
        hits += lo <= true_acc <= hi
    coverage = hits / sims
    # binomial sd of the coverage estimate ~ 0.013; percentile bootstrap runs slightly low
    assert 0.89 <= coverage <= 0.985, coverage


def test_interval_narrows_with_more_samples_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1600):
        y = rng.integers(0, 3, n)
        pred = np.where(rng.random(n) < 0.7, y, (y + 1) % 3)
        lo, hi = bootstrap_ci(y, pred, 3)
        assert lo <= np.mean(y == pred) <= hi
        widths.append(hi - lo)
    assert widths[1] < widths[0] / 2.5  # ~ 1/sqrt(16) = 1/4


@pytest.mark.parametrize("metric", ["accuracy", "macro_recall", "macro_f1"])
def test_batched_metrics_match_compute_metrics(metric: str) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, (3, 60))
    y[2, y[2] == 3] = 0  # a class absent from one resample's truth
    pred = np.where(rng.random((3, 60)) < 0.6, y, rng.integers(0, 4, (3, 60)))
    batched = metric_value(metric, y, pred, 4)
    for b in range(3):
        assert batched[b] == pytest.approx(compute_metrics(y[b], pred[b], 4)[metric])


def test_mcnemar_identical_predictions_gives_one_and_matches_binomial() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.6, y, (y + 1) % 3)
    assert discordant(y, pred, pred) == (0, 0)
    assert mcnemar_exact(*discordant(y, pred, pred)) == 1.0
    better = np.where(rng.random(200) < 0.5, y, pred)
    b, c = discordant(y, better, pred)
    assert b > 0 and c == 0
    assert mcnemar_exact(b, c) == pytest.approx(binomtest(b, b + c, 0.5).pvalue)
    assert mcnemar_exact(b, c) < 0.05
    lo, hi = paired_bootstrap_diff_ci(y, better, pred, 3)
    assert 0 < lo <= np.mean(better == y) - np.mean(pred == y) <= hi
    assert paired_bootstrap_diff_ci(y, pred, pred, 3) == (0.0, 0.0)


def test_holm_step_down() -> None:
    p = [0.01, 0.04, np.nan, 0.03, 0.5]
    # sorted 0.01, 0.03, 0.04, 0.5 with m = 4: 0.04, 0.09, 0.09 (monotone), 0.5
    expected = [0.04, 0.09, np.nan, 0.09, 0.5]
    np.testing.assert_allclose(holm(p), expected)
    assert np.isnan(holm([np.nan])).all()


@pytest.mark.parametrize("batch", [1 << 22, 4096, 999])
def test_all_metric_intervals_at_once_equal_scipy_bootstrap_number_for_number(batch, monkeypatch):
    """One resampling for every metric, drawn in memory-bounded batches, gives exactly the
    intervals of one scipy.stats.bootstrap per metric (what records stored before)."""
    from mmbench import stats

    monkeypatch.setattr(stats, "BATCH_ELEMENTS", batch)
    rng = np.random.default_rng(7)
    for trial in range(12):
        n, k = int(rng.integers(2, 1500)), int(rng.integers(2, 11))
        y = rng.integers(0, k, n)
        pred = np.where(rng.random(n) < rng.random(), y, rng.integers(0, k, n))
        if trial == 0:
            pred = y.copy()  # degenerate: every prediction right
        if trial == 1:
            y = np.zeros(n, dtype=int)  # one class present
        got = stats.bootstrap_cis(y, pred, k)
        for metric in ("accuracy", "macro_recall", "macro_f1"):
            assert got[metric] == list(stats.bootstrap_ci(y, pred, k, metric)), (trial, metric)
