"""Leaderboard columns for honest numbers, from stored records alone: proper scores
(:mod:`mmbench.scoring`), the values a tuned cell chose on its inner split
(:mod:`mmbench.tuning`) and, for ``select = "validation"`` rows, the optimism of reading the
best value off the test split.

- ``tuned``: per row, the chosen values over its seeds/folds (``C=0.1`` when all agree, else
  each choice with its count: ``C=0.1 ×2 | C=1``).
- ``oracle``: per row of a ``select`` entry, the best over candidates of the candidate's test
  score averaged over the row's seeds (what a sweep read off the test split would report);
  ``optimism`` = ``oracle`` minus the row's own (selected) score, >= 0.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from .scoring import PROPER_SCORES


def _values(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in sorted(params.items()))


def chosen_text(tuning: dict[str, Any]) -> str:
    """``alpha=0.75, C=0.01``: a cell's chosen fusion then classifier values."""
    chosen = tuning.get("chosen") or {}
    return "; ".join(t for t in (_values(chosen.get("fusion") or {}),
                                 _values(chosen.get("classifier") or {})) if t)


def cell_columns(record: dict[str, Any]) -> dict[str, Any]:
    """Per-cell columns: the proper scores, ``tuned`` text, and ``_candidates`` (select)."""
    metrics = record.get("metrics", {})
    out: dict[str, Any] = {k: metrics.get(k, np.nan) for k in PROPER_SCORES}
    tuning = record.get("tuning")
    if isinstance(tuning, dict):
        out["tuned"] = chosen_text(tuning)
        if tuning.get("candidates"):
            out["_candidates"] = tuning["candidates"]
    out["tune_s"] = record.get("timings", {}).get("tune_s", np.nan)
    return out


def _row_tuned(texts: pd.Series) -> str:
    counts = Counter(t for t in texts if isinstance(t, str) and t)
    if not counts:
        return ""
    if len(counts) == 1:
        return next(iter(counts))
    return " | ".join(f"{t} ×{n}" if n > 1 else t for t, n in counts.most_common())


def _row_oracle(group: pd.DataFrame, metric: str) -> float:
    cands = group["_candidates"] if "_candidates" in group else None
    if cands is None or any(not isinstance(c, list) for c in cands):
        return np.nan
    per: dict[str, list[float]] = {}
    for cell in cands:
        for c in cell:
            key = repr((sorted(c["fusion"].items()), sorted(c["classifier"].items())))
            per.setdefault(key, []).append(float(c["test"][metric]))
    full = [np.mean(v) for v in per.values() if len(v) == len(group)]
    return float(max(full)) if full else np.nan


def row_columns(cells: pd.DataFrame, metric: str, keys: list[str]) -> pd.DataFrame:
    """Per configuration row: ``tuned``, ``oracle`` and ``optimism`` (see the module doc)."""
    rows = []
    for key, group in cells.groupby(keys, sort=False, dropna=False):
        oracle = _row_oracle(group, metric)
        rows.append({**dict(zip(keys, key)),
                     "tuned": _row_tuned(group["tuned"]) if "tuned" in group else "",
                     "oracle": oracle, "optimism": oracle - group[metric].mean()})
    return pd.DataFrame(rows, columns=[*keys, "tuned", "oracle", "optimism"])
