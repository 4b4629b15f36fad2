"""Evaluate one cell: build its fusion and classifier, fit on train views, score test views.

A pure function of its inputs, so any executor can run it in any process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .featurize import instantiate
from .metrics import compute_metrics
from .plan import Cell
from .protocols import Views


@dataclass
class CellOutcome:
    """What a cell produced: metrics, timings, and its test predictions."""

    metrics: dict[str, Any]
    timings: dict[str, float]
    y_pred: np.ndarray
    proba: np.ndarray
    dims: dict[str, int] = field(default_factory=dict)


def evaluate_cell(
    cell: Cell,
    train: Views,
    y_train: np.ndarray,
    test: Views,
    y_test: np.ndarray,
    n_classes: int,
    catalog: Any,
    device: str = "cpu",
    class_names: tuple[str, ...] = (),
) -> CellOutcome:
    """Fit the cell's fusion (with fresh classifiers from its factory) and score it."""
    context = {"random_state": cell.seed, "device": device, "class_names": tuple(class_names)}
    clf_entry = catalog["classifier"].get(cell.classifier.name)
    fusion_entry = catalog["fusion"].get(cell.fusion.name)

    def make_classifier() -> Any:
        return instantiate(clf_entry, cell.classifier, context)

    fusion = instantiate(fusion_entry, cell.fusion, context)
    t0 = time.perf_counter()
    fusion.fit(train, y_train, make_classifier)
    t1 = time.perf_counter()
    proba = np.asarray(fusion.predict_proba(test), dtype=np.float64)
    t2 = time.perf_counter()
    if proba.shape != (len(y_test), n_classes):
        raise ValueError(
            f"fusion {cell.fusion.label} returned probabilities of shape {proba.shape}; "
            f"expected ({len(y_test)}, {n_classes})"
        )
    y_pred = proba.argmax(axis=1)
    return CellOutcome(
        metrics=compute_metrics(y_test, y_pred, n_classes),
        timings={"fit_s": t1 - t0, "predict_s": t2 - t1},
        y_pred=y_pred,
        proba=proba.astype(np.float32),
        dims={m: int(v.shape[1]) for m, v in train.items()},
    )
