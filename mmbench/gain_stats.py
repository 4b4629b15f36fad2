"""Fusion versus the best single modality: paired statistics for the leaderboard.

For every fusion cell, the reference is the best unimodal cell (by the headline metric) that used
one of the same featurizers, with the same dataset, classifier, seed and fold; both were scored
on the same test samples. Per cell: the gain, a paired 95% bootstrap interval of the gain, and
McNemar's discordant counts. Per leaderboard row (a configuration over seeds):

- ``<metric>_ci_low`` / ``<metric>_ci_high``: the mean over seeds of each cell's 95% bootstrap
  bounds (stored in the cell record at run time): the typical single-test-set interval.
- ``gain_ci_low`` / ``gain_ci_high``: the mean over seeds of each cell's paired bootstrap bounds.
- ``p_value``: McNemar's exact test on the discordant counts summed over seeds (each seed's
  test predictions paired with its reference's; a stratified exact McNemar).
- ``p_holm``: Holm's step-down correction across all fusion rows of the suite;
  ``significant``: ``p_holm < 0.05``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .metrics import SCALAR_METRICS
from .stored import StoredResults
from .stats import holm, mcnemar_exact, paired_bootstrap_diff_ci, discordant

ALPHA = 0.05


def extra_columns(record: dict[str, Any]) -> dict[str, Any]:
    """Flat per-cell columns beyond the core ones: stored CI bounds, peak memory, dims,
    n_classes, relative robustness per corruption and metric (``rob:<corruption>:<metric>``)."""
    out: dict[str, Any] = {"n_classes": record.get("n_classes")}
    ci = record.get("metrics", {}).get("ci", {})
    for m in SCALAR_METRICS:
        if m in ci:
            out[f"{m}_ci_low"], out[f"{m}_ci_high"] = ci[m]
    if "memory" in record:
        out.update(record["memory"])
    if record.get("dims"):
        out["dims"] = " ".join(f"{m}:{d}" for m, d in sorted(record["dims"].items()))
    for name, curve in record.get("robustness", {}).items():
        for m in SCALAR_METRICS:
            rel = curve.get("relative", {}).get(m, float("nan"))
            out[f"rob:{name}:{m}"] = rel
    return out


def reference_cells(df: pd.DataFrame, metric: str) -> dict[Any, str]:
    """Row index of each fusion cell -> cell_id of its best unimodal reference cell (ties go to
    the modality whose name sorts first)."""
    feat_cols = sorted(c for c in df.columns if c.startswith("feat:"))
    uni = df[df["level"] == "unimodal"]
    best: dict[tuple[Any, ...], tuple[float, str]] = {}
    for _, u in uni.iterrows():
        for col in feat_cols:
            if isinstance(u[col], str):
                key = (u["dataset"], u["classifier"], u["seed"], u["fold"], col, u[col])
                if key not in best or u[metric] > best[key][0]:
                    best[key] = (u[metric], u["cell_id"])
    refs: dict[Any, str] = {}
    for idx, row in df[df["level"] != "unimodal"].iterrows():
        found = [best[k] for col in feat_cols if isinstance(row[col], str)
                 and (k := (row["dataset"], row["classifier"], row["seed"], row["fold"], col,
                            row[col])) in best]
        if found:
            refs[idx] = max(found, key=lambda t: t[0])[1]
    return refs


def add_significance(df: pd.DataFrame, results: StoredResults, metric: str) -> pd.DataFrame:
    """Per fusion cell: ``ref_cell_id``, ``gain_ci_low``/``gain_ci_high`` (paired bootstrap
    of ``metric``), ``disc_b``/``disc_c`` (fusion right & reference wrong, and the reverse) and
    ``p_cell`` (McNemar exact for this seed), from the verified stored predictions (a cell
    without them gets none of these)."""
    df = df.copy()
    for col in ("gain_ci_low", "gain_ci_high", "disc_b", "disc_c", "p_cell"):
        df[col] = np.nan
    df["ref_cell_id"] = None
    if df.empty:
        return df
    for idx, ref in reference_cells(df, metric).items():
        a, b = results.predictions(df.at[idx, "cell_id"]), results.predictions(ref)
        df.at[idx, "ref_cell_id"] = ref
        if a is None or b is None or not np.array_equal(a["test_index"], b["test_index"]):
            continue
        k = int(df.at[idx, "n_classes"]) if "n_classes" in df and pd.notna(
            df.at[idx, "n_classes"]) else int(max(a["y_true"].max(), a["y_pred"].max(),
                                                   b["y_pred"].max()) + 1)
        lo, hi = paired_bootstrap_diff_ci(a["y_true"], a["y_pred"], b["y_pred"], k, metric)
        nb, nc = discordant(a["y_true"], a["y_pred"], b["y_pred"])
        df.loc[idx, ["gain_ci_low", "gain_ci_high", "disc_b", "disc_c"]] = [lo, hi, nb, nc]
        df.at[idx, "p_cell"] = mcnemar_exact(nb, nc)
    return df


def row_statistics(cells: pd.DataFrame, metric: str, keys: list[str]) -> pd.DataFrame:
    """Per configuration row: averaged CI bounds, pooled McNemar p, Holm, significance, cost and
    robustness means (see the module docstring)."""
    mean_cols = [c for c in cells.columns if c.endswith(("_ci_low", "_ci_high"))
                 or c.startswith("rob:") or c == "fit_peak_rss_mb"]
    grouped = cells.groupby(keys, sort=False, dropna=False)
    out = grouped[mean_cols].mean()
    sums = grouped[["disc_b", "disc_c"]].sum(min_count=1)
    out["disc_b"], out["disc_c"] = sums["disc_b"], sums["disc_c"]
    if "dims" in cells:
        out["dims"] = grouped["dims"].first()
    out["p_value"] = [mcnemar_exact(int(b), int(c)) if pd.notna(b) and pd.notna(c) else np.nan
                      for b, c in zip(out["disc_b"], out["disc_c"])]
    out["p_holm"] = holm(out["p_value"].to_numpy())
    out["significant"] = out["p_holm"] < ALPHA
    for col in [c for c in out.columns if c.startswith("rob:") and c.endswith(f":{metric}")]:
        out[col[: -len(metric) - 1]] = out[col]
    return out.reset_index()


def summarize_with_stats(df: pd.DataFrame, results: StoredResults, metric: str) -> pd.DataFrame:
    """:func:`mmbench.leaderboard.summarize` plus the columns of :func:`row_statistics`."""
    from .leaderboard import ROW_KEYS, summarize

    if df.empty:
        return df
    cells = add_significance(df, results, metric)
    summary = summarize(df, metric)
    stats = row_statistics(cells, metric, ROW_KEYS)
    return summary.merge(stats, on=ROW_KEYS, how="left", sort=False)
