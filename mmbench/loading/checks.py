"""Checks every loaded dataset passes before anything is featurized (the runner calls
:func:`check_data` after ``load()``): labels in range, modalities of the right shape and length,
texts present. Each problem is one :class:`~mmbench.errors.UserError` line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmbench.errors import UserError
from mmbench.protocols import IMAGE, NUMERIC, TEXT, MultimodalData


def _rows(rows: Sequence[int], n: int) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    return f"{n} row(s) ({shown}{', ...' if n > 5 else ''})"


def bad_texts(texts: Sequence[Any]) -> list[int]:
    """Rows whose text is missing: not a string (None, NaN) or only whitespace."""
    return [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]


def check_texts(texts: Sequence[Any], where: str) -> None:
    """Refuse missing or empty texts, saying how many and the first rows."""
    bad = bad_texts(texts)
    if bad:
        raise UserError(f"{where}: {_rows(bad, len(bad))} of {len(texts)} have no text (empty "
                        f"or missing); fill them or drop those rows")


def check_labels(y: np.ndarray, class_names: Sequence[str], where: str) -> None:
    """Labels must be integers in ``range(len(class_names))``."""
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise UserError(f"{where}: labels must be integers int64[N], got {y.dtype}{list(y.shape)}")
    bad = np.flatnonzero((y < 0) | (y >= len(class_names)))
    if len(bad):
        raise UserError(f"{where}: labels outside 0..{len(class_names) - 1} (the "
                        f"{len(class_names)} class_names) in {_rows(bad.tolist(), len(bad))}, "
                        f"e.g. {int(y[bad[0]])}")
    if len(y) == 0:
        raise UserError(f"{where}: the dataset has no rows")


def check_data(data: MultimodalData, dataset: str) -> None:
    """Everything a loaded dataset must satisfy before it is used; the first problem found
    raises a :class:`UserError` naming ``dataset``."""
    where = f"dataset {dataset!r}"
    check_labels(data.y, data.class_names, where)
    for name, samples in data.modalities.items():
        at = f"{where}, modality {name!r}"
        if len(samples) != len(data.y):
            raise UserError(f"{at} has {len(samples)} rows but there are {len(data.y)} labels")
        kind = data.kind(name)
        samples = getattr(samples, "distinct", samples)  # SharedSamples: its distinct samples
        if kind == TEXT:
            check_texts(samples, at if samples is data.modalities[name] else
                        f"{at} (its distinct samples)")
        elif kind == IMAGE:
            if not (isinstance(samples, np.ndarray) and samples.dtype == np.uint8
                    and samples.ndim == 4 and samples.shape[-1] == 3):
                shape = getattr(samples, "shape", type(samples).__name__)
                raise UserError(f"{at}: images must be uint8[N, H, W, 3], got "
                                f"{getattr(samples, 'dtype', '')}{shape}")
        elif kind == NUMERIC and hasattr(samples, "columns") and len(samples.columns) == 0:
            raise UserError(f"{at}: the numeric modality has no columns")
