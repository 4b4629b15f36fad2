"""Per-cell metrics from true labels and predicted probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Scalar metrics every cell records (higher is better).
SCALAR_METRICS = ("accuracy", "macro_recall", "macro_f1")


def compute_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, Any]:
    """Accuracy, macro recall (balanced accuracy), macro F1, per-class recall, confusion."""
    from sklearn.metrics import confusion_matrix, f1_score, recall_score

    labels = list(range(n_classes))
    per_class = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    present = np.isin(labels, y_true)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_recall": float(np.mean(per_class[present])),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=np.array(labels)[present], average="macro",
                     zero_division=0)
        ),
        "per_class_recall": [float(r) for r in per_class],
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def _finite(x: Any) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def mean_sd_text(mean: Any, sd: Any, n: int, missing: int = 0, digits: int = 4) -> str:
    """``0.7833 ± 0.0079`` over the ``n - missing`` values there are, saying how many of the
    ``n`` cells have no value (NaN): ``0.7667 (1 of 2 missing)``, ``(2 of 2 missing)``."""
    note = f"({missing} of {n} missing)" if missing else ""
    if not _finite(mean):
        return note
    text = f"{mean:.{digits}f}"
    if _finite(sd) and n - missing > 1:
        text += f" ± {sd:.{digits}f}"
    return f"{text} {note}".strip()
