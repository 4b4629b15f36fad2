"""Number formatting shared by the HTML report and the exports."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..metrics import mean_sd_text

#: Significance level used for marks when the summary carries ``significant``/``p_holm``.
SIG_MARK = "*"


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def metric_text(row: pd.Series, metric: str, digits: int = 4) -> str:
    """``0.7833 ± 0.0079`` (sd over seeds/folds), or just the mean for a single cell."""
    return mean_sd_text(row.get(metric), row.get(f"{metric}_std"), int(row.get("n", 1)),
                        int(row.get(f"{metric}_missing", 0) or 0), digits)


def ci_text(row: pd.Series, name: str, digits: int = 4) -> str:
    """``[0.7755, 0.7911]`` from ``<name>_ci_low``/``<name>_ci_high``, or "" if absent."""
    lo, hi = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]" if _finite(lo) and _finite(hi) else ""


def significant(row: pd.Series) -> bool | None:
    """The row's ``significant`` flag, else ``p_holm < 0.05``, else None (not computed)."""
    flag = row.get("significant")
    if flag is not None and not (isinstance(flag, float) and math.isnan(flag)):
        return bool(flag)
    p = row.get("p_holm")
    return bool(float(p) < 0.05) if _finite(p) else None


def gain_text(row: pd.Series, digits: int = 4) -> str:
    """``+0.0333*`` (the mark when the gain is significant), "" for unimodal rows."""
    gain = row.get("gain")
    if not _finite(gain):
        return ""
    return f"{gain:+.{digits}f}" + (SIG_MARK if significant(row) else "")


def has_stats(summary: pd.DataFrame) -> bool:
    """Whether the summary carries significance columns (added by ``mmbench.stats``)."""
    return "significant" in summary.columns or "p_holm" in summary.columns

