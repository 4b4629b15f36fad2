"""Proper scoring rules and calibration of a cell's test probabilities.

Accuracy looks only at the top class; these look at the probabilities themselves (lower is
better for all three):

- ``log_loss``: mean negative log-probability of the true class (scikit-learn's
  ``log_loss`` over all ``n_classes`` labels; it clips probabilities to ``[eps, 1 - eps]``
  with ``eps`` the float64 machine epsilon, so a confident mistake costs about 36, not
  infinity).
- ``brier``: the multi-class Brier score, the mean over samples of the squared distance
  between the probability vector and the one-hot true label, ``sum_k (p_k - [y = k])**2``
  (between 0 and 2).
- ``ece``: expected calibration error with :data:`ECE_BINS` = 15 equal-width bins on the
  top-class probability ("confidence"): bin ``b`` holds the samples whose confidence lies in
  ``(b/15, (b+1)/15]`` (a confidence of 0 goes to the first bin); ECE is the sample-weighted
  mean over bins of ``|accuracy - mean confidence|``.

:func:`reliability` keeps the per-bin counts, mean confidences and accuracies, so a reliability
diagram (and the ECE) can be redrawn from a record without its predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Equal-width confidence bins of the expected calibration error.
ECE_BINS = 15
#: The proper scores (and ECE) every cell records; lower is better.
PROPER_SCORES = ("log_loss", "brier", "ece")


def confidence_bins(confidence: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """Bin index of each confidence: ``(b/bins, (b+1)/bins]`` -> ``b`` (0 -> bin 0)."""
    idx = np.ceil(np.asarray(confidence, dtype=np.float64) * bins).astype(int) - 1
    return np.clip(idx, 0, bins - 1)


def reliability(y_true: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> dict[str, Any]:
    """Per confidence bin: ``count``, mean ``confidence`` and ``accuracy`` (None when empty)."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y_true)).astype(np.float64)
    which = confidence_bins(conf, bins)
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=conf, minlength=bins)
    acc_sum = np.bincount(which, weights=correct, minlength=bins)
    return {
        "bins": bins,
        "count": count.astype(int).tolist(),
        "confidence": [float(s / c) if c else None for s, c in zip(conf_sum, count)],
        "accuracy": [float(s / c) if c else None for s, c in zip(acc_sum, count)],
    }


def ece_from_bins(rel: dict[str, Any]) -> float:
    """The expected calibration error of :func:`reliability`'s bins (also of bins summed over
    several cells)."""
    count = np.asarray(rel["count"], dtype=np.float64)
    total = count.sum()
    if not total:
        return float("nan")
    gaps = [abs(a - c) * n for a, c, n in zip(rel["accuracy"], rel["confidence"], count) if n]
    return float(np.sum(gaps) / total)


def merge_bins(rels: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Several cells' reliability bins pooled (counts summed, means weighted by count)."""
    rels = [r for r in rels if r]
    if not rels:
        return None
    bins = rels[0]["bins"]
    count = np.zeros(bins)
    conf = np.zeros(bins)
    acc = np.zeros(bins)
    for r in rels:
        n = np.asarray(r["count"], dtype=np.float64)
        count += n
        conf += n * np.asarray([v or 0.0 for v in r["confidence"]])
        acc += n * np.asarray([v or 0.0 for v in r["accuracy"]])
    return {"bins": bins, "count": count.astype(int).tolist(),
            "confidence": [float(s / c) if c else None for s, c in zip(conf, count)],
            "accuracy": [float(s / c) if c else None for s, c in zip(acc, count)]}


def proper_scores(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, Any]:
    """``log_loss``, ``brier``, ``ece`` and the ``reliability`` bins of test probabilities
    ``proba[n, n_classes]`` (rows are renormalised to sum to 1 first)."""
    from sklearn.metrics import log_loss

    y_true = np.asarray(y_true)
    p = np.clip(np.asarray(proba, dtype=np.float64), 0.0, None)
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
    onehot = np.eye(n_classes)[y_true]
    rel = reliability(y_true, p)
    return {
        "log_loss": float(log_loss(y_true, p, labels=list(range(n_classes)))),
        "brier": float(np.mean(np.sum((p - onehot) ** 2, axis=1))),
        "ece": ece_from_bins(rel),
        "reliability": rel,
    }
