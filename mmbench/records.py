"""What a stored cell record and its predictions must hold for anyone to use them.

One place decides whether a record is usable: the runner (a record that is not counts as not
recorded, so its cell runs again) and every reader (leaderboard, report, export, compare, the
gain statistics), which skip it with one warning naming the file and go on. The same holds for
a record's predictions: their sha256 must be the one the record names, and their arrays must
fit the record (one label and one prediction per test sample, in range).
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .metrics import SCALAR_METRICS
from .protocols import LEVELS

_STRICT = ConfigDict(strict=True, extra="allow")


class _Variant(BaseModel):
    model_config = _STRICT
    name: str
    label: str
    params: dict[str, Any] = {}
    notes: list[str] = []


class _Metrics(BaseModel):
    model_config = _STRICT
    accuracy: float
    macro_recall: float
    macro_f1: float
    per_class_recall: list[float] | None = None
    confusion: list[list[int]] | None = None
    ci: dict[str, Any] = {}
    log_loss: float | None = None
    brier: float | None = None
    ece: float | None = None
    reliability: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _shapes(self) -> _Metrics:
        k = len(self.confusion) if self.confusion is not None else None
        if self.confusion is not None and any(len(row) != k for row in self.confusion):
            raise ValueError(f"confusion is not a square matrix (rows of "
                             f"{sorted({len(r) for r in self.confusion})} columns for {k} rows)")
        if k is not None and self.per_class_recall is not None and len(
                self.per_class_recall) != k:
            raise ValueError(f"per_class_recall has {len(self.per_class_recall)} values for a "
                             f"{k}x{k} confusion matrix")
        for m in SCALAR_METRICS:
            bounds = self.ci.get(m)
            if bounds is not None and not (isinstance(bounds, list) and len(bounds) == 2 and all(
                    isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)):
                raise ValueError(f"ci.{m} is not a [low, high] pair of numbers")
        return self


class _Ok(BaseModel):
    """The fields of an ``ok`` record that the readers use."""

    model_config = _STRICT
    cell_id: str
    status: Literal["ok"]
    dataset: _Variant
    featurizers: dict[str, _Variant]
    fusion: _Variant
    level: Literal[LEVELS]  # type: ignore[valid-type]
    classifier: _Variant
    seed: int
    fold: int = 0
    metrics: _Metrics
    n_test: int | None = None
    n_classes: int | None = None
    class_names: list[str] | None = None
    timings: dict[str, float] = {}
    memory: dict[str, float] = {}
    dims: dict[str, int] = {}
    robustness: dict[str, dict[str, Any]] = {}
    predictions_sha256: str | None = None

    @model_validator(mode="after")
    def _classes(self) -> _Ok:
        confusion = self.metrics.confusion
        if confusion is not None and self.n_classes is not None and len(
                confusion) != self.n_classes:
            raise ValueError(f"confusion is {len(confusion)}x{len(confusion)} for "
                             f"n_classes = {self.n_classes}")
        if not self.featurizers:
            raise ValueError("featurizers is empty")
        return self


class _Failed(BaseModel):
    model_config = _STRICT
    cell_id: str
    status: Literal["failed"]


def record_problem(record: Any, stem: str) -> str | None:
    """Why ``record`` (read from ``<stem>.json``) cannot be used, or None when it can."""
    if not isinstance(record, dict) or record.get("cell_id") != stem:
        return f"it is not the record of cell {stem}"
    if record.get("status") not in ("ok", "failed"):
        return f"its status is {record.get('status')!r}, not 'ok' or 'failed'"
    try:
        (_Ok if record["status"] == "ok" else _Failed).model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        return f"{where}: {first['msg']}" + (
            f" (got {first['input']!r})" if first["type"] != "missing" and not isinstance(
                first["input"], dict | list) else "")
    return None


def predictions_problem(record: dict[str, Any], blob: bytes) -> tuple[
        dict[str, np.ndarray] | None, str | None]:
    """(arrays, None) when ``blob`` holds the predictions ``record`` was written with, else
    (None, why not)."""
    expected = record.get("predictions_sha256")
    if expected and hashlib.sha256(blob).hexdigest() != expected:
        return None, "do not match the checksum in the record"
    try:
        with np.load(io.BytesIO(blob)) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return None, f"are unreadable ({type(exc).__name__}: {exc})"
    missing = [k for k in ("y_true", "y_pred", "test_index") if k not in arrays]
    if missing:
        return None, f"lack {', '.join(missing)}"
    n = record.get("n_test", len(arrays["y_true"]))
    k = record.get("n_classes") or math.inf
    for key in ("y_true", "y_pred", "test_index"):
        a = arrays[key]
        if a.ndim != 1 or len(a) != n or a.dtype.kind not in "iu":
            return None, f"hold {key} as {a.dtype}{list(a.shape)}; expected {n} integers"
    for key in ("y_true", "y_pred"):
        if len(arrays[key]) and (arrays[key].min() < 0 or arrays[key].max() >= k):
            return None, f"hold {key} labels outside 0..{k - 1}"
    proba = arrays.get("proba")
    if proba is not None and proba.shape != () and (proba.ndim != 2 or len(proba) != n):
        return None, f"hold proba of shape {proba.shape} for {n} test samples"
    return arrays, None
