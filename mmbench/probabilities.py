"""What a plugin's ``predict_proba`` must return to be used: probabilities, not scores.

Finite values in [0, 1] whose rows sum to 1. Logits or decision scores (negative values, rows
summing to anything) would be recorded as a result and averaged by decision-level fusions as if
they were probabilities; they are refused, naming the plugin and the first offending rows.
"""

from __future__ import annotations

import numpy as np

#: How far a row's sum may be from 1 (float32 softmax of many classes is within 1e-6).
SUM_TOLERANCE = 1e-3
#: How far below 0 a value may be (rounding of ``1 - p``).
NEGATIVE_TOLERANCE = 1e-6


def _rows(rows: np.ndarray, n: int) -> str:
    shown = ", ".join(str(i) for i in rows[:5])
    return f"{len(rows)} of {n} rows (row {shown}{' ...' if len(rows) > 5 else ''})"


def proba_problem(proba: np.ndarray) -> str | None:
    """Why the 2-d array ``proba`` is not a matrix of probabilities, or None when it is."""
    n = len(proba)
    bad = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if len(bad):
        return f"predict_proba returned NaN or inf for {_rows(bad, n)}"
    negative = np.flatnonzero((proba < -NEGATIVE_TOLERANCE).any(axis=1))
    if len(negative):
        r = negative[0]
        return (f"predict_proba returned negative values for {_rows(negative, n)}, e.g. "
                f"{proba[r].min():.4g} in row {r}: probabilities are in [0, 1] (logits or "
                f"decision scores? apply a softmax)")
    sums = proba.sum(axis=1) if proba.shape[1] else np.zeros(n)
    off = np.flatnonzero(np.abs(sums - 1) > SUM_TOLERANCE)
    if len(off):
        return (f"predict_proba returned rows not summing to 1 for {_rows(off, n)}, e.g. row "
                f"{off[0]} sums to {sums[off[0]]:.4g}: each row must be a probability "
                f"distribution over the classes")
    return None
