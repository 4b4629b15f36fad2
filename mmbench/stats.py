"""Statistics on stored predictions: bootstrap intervals, McNemar's exact test, Holm's correction.

Everything here is a pure function of label/prediction arrays, so anyone can recompute the
leaderboard's numbers from ``predictions/<cell_id>.npz`` (scipy does the heavy lifting).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

#: Confidence level of every interval mmbench reports.
CONFIDENCE = 0.95
#: Bootstrap resamples per interval.
N_RESAMPLES = 1000
#: Seed of the bootstrap resampling (fixed: the same predictions give the same interval).
BOOT_SEED = 0


#: Resampled labels held at once (resamples x test samples): bounds the bootstrap's memory
#: (32 MiB of int64 indices) whatever the test set's size.
BATCH_ELEMENTS = 1 << 22


def _codes(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    return np.asarray(y_true, dtype=np.int64) * n_classes + np.asarray(y_pred, dtype=np.int64)


def _counts(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion counts for a batch of resamples: arrays ``[..., n]`` -> ``[..., K, K]``."""
    return _code_counts(_codes(y_true, y_pred, n_classes), n_classes)


def _code_counts(codes: np.ndarray, n_classes: int) -> np.ndarray:
    flat = codes.reshape(-1, codes.shape[-1])
    offsets = (np.arange(flat.shape[0]) * n_classes * n_classes)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * n_classes**2)
    return counts.reshape(*codes.shape[:-1], n_classes, n_classes).astype(np.float64)


def metric_value(metric: str, y_true: np.ndarray, y_pred: np.ndarray,
                 n_classes: int) -> np.ndarray:
    """``accuracy``, ``macro_recall`` or ``macro_f1`` of (batches of) label arrays ``[..., n]``,
    computed as :func:`mmbench.metrics.compute_metrics` does (classes absent from ``y_true``
    are left out of the macro averages)."""
    if metric == "accuracy":
        return np.mean(np.asarray(y_true) == np.asarray(y_pred), axis=-1)
    return _macro(metric, _counts(y_true, y_pred, n_classes))


def _macro(metric: str, conf: np.ndarray) -> np.ndarray:
    """``macro_recall`` or ``macro_f1`` of confusion counts ``[..., K, K]``."""
    support = conf.sum(axis=-1)
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    present = support > 0
    n_present = np.maximum(present.sum(axis=-1), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(present, tp / np.where(present, support, 1), 0.0)
        if metric == "macro_recall":
            return recall.sum(axis=-1) / n_present
        if metric == "macro_f1":
            predicted = conf.sum(axis=-2)
            denom = support + predicted
            f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)
            return np.where(present, f1, 0.0).sum(axis=-1) / n_present
    raise ValueError(f"unknown metric {metric!r}; use accuracy, macro_recall or macro_f1")


def bootstrap_ci(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int,
                 metric: str = "accuracy", *, confidence: float = CONFIDENCE,
                 n_resamples: int = N_RESAMPLES, seed: int = BOOT_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` over the test samples
    (``scipy.stats.bootstrap``, paired resampling of (true, predicted) label pairs)."""
    from scipy.stats import bootstrap

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) < 2:
        value = float(metric_value(metric, y_true, y_pred, n_classes))
        return value, value

    def stat(t: np.ndarray, p: np.ndarray, axis: int = -1) -> np.ndarray:
        return metric_value(metric, t, p, n_classes)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate data (all correct) -> a zero-width interval
        res = bootstrap((y_true, y_pred), stat, paired=True, vectorized=True,
                        confidence_level=confidence, n_resamples=n_resamples,
                        method="percentile", random_state=np.random.default_rng(seed))
    low, high = res.confidence_interval
    return float(low), float(high)


def paired_bootstrap_diff_ci(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                             n_classes: int, metric: str = "accuracy", *,
                             confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                             seed: int = BOOT_SEED) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(a) - metric(b)`` on the same test samples
    (each resample draws samples, and both predictions of a sample go with it)."""
    from scipy.stats import bootstrap

    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    if len(y_true) < 2:
        d = metric_value(metric, y_true, pred_a, n_classes) - metric_value(
            metric, y_true, pred_b, n_classes)
        return float(d), float(d)

    def stat(t: np.ndarray, a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return metric_value(metric, t, a, n_classes) - metric_value(metric, t, b, n_classes)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap((y_true, pred_a, pred_b), stat, paired=True, vectorized=True,
                        confidence_level=confidence, n_resamples=n_resamples,
                        method="percentile", random_state=np.random.default_rng(seed))
    low, high = res.confidence_interval
    return float(low), float(high)


def discordant(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> tuple[int, int]:
    """McNemar's discordant pair counts: (a right & b wrong, a wrong & b right)."""
    right_a = np.asarray(pred_a) == np.asarray(y_true)
    right_b = np.asarray(pred_b) == np.asarray(y_true)
    return int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from discordant counts ``b`` and ``c``: a binomial test of
    ``b`` successes in ``b + c`` trials at 1/2 (p = 1 when there are no discordant pairs)."""
    from scipy.stats import binomtest

    if b + c == 0:
        return 1.0
    return float(binomtest(int(b), int(b + c), 0.5).pvalue)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaNs are kept as NaN and not counted)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def metric_intervals(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int,
                     metrics: Sequence[str] = ("accuracy", "macro_recall", "macro_f1"),
                     ) -> dict[str, object]:
    """What a cell record stores under ``metrics["ci"]``: a bootstrap interval per metric,
    with how it was made (so it can be recomputed)."""
    out: dict[str, object] = {"confidence": CONFIDENCE, "method": "percentile bootstrap",
                              "n_resamples": N_RESAMPLES, "seed": BOOT_SEED}
    out.update(bootstrap_cis(y_true, y_pred, n_classes, metrics))
    return out


def bootstrap_cis(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int,
                  metrics: Sequence[str] = ("accuracy", "macro_recall", "macro_f1"), *,
                  confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                  seed: int = BOOT_SEED) -> dict[str, list[float]]:
    """:func:`bootstrap_ci` of every metric in ``metrics`` at once, equal to it number for
    number: the same resamples (``scipy.stats.bootstrap`` draws ``integers(0, n, (B, n))``
    from ``default_rng(seed)``; drawn here in batches of at most :data:`BATCH_ELEMENTS`
    labels, which gives the same stream) and the same quantiles, but each resample's
    confusion counts are computed once for all metrics and memory stays bounded for any
    test-set size."""
    from scipy.stats import quantile

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(y_true)
    if n < 2:
        return {m: list(bootstrap_ci(y_true, y_pred, n_classes, m)) for m in metrics}
    for m in metrics:
        if m not in ("accuracy", "macro_recall", "macro_f1"):
            raise ValueError(f"unknown metric {m!r}; use accuracy, macro_recall or macro_f1")
    correct = y_true == y_pred
    codes = _codes(y_true, y_pred, n_classes)
    rng = np.random.default_rng(seed)
    per = max(1, BATCH_ELEMENTS // n)
    theta: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    for start in range(0, n_resamples, per):
        idx = rng.integers(0, n, (min(per, n_resamples - start), n))
        if "accuracy" in theta:
            theta["accuracy"].append(np.mean(correct[idx], axis=-1))
        macro = [m for m in metrics if m != "accuracy"]
        if macro:
            conf = _code_counts(codes[idx], n_classes)
            for m in macro:
                with np.errstate(divide="ignore", invalid="ignore"):
                    theta[m].append(_macro(m, conf))
    alpha = np.asarray((1 - confidence) / 2, dtype=np.float64)
    levels = np.stack([alpha, 1 - alpha], axis=-1)
    out = {}
    for m, parts in theta.items():
        low, high = quantile(np.concatenate(parts), levels, axis=-1)
        out[m] = [float(low), float(high)]
    return out
