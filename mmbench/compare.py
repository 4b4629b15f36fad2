"""Compare two runs: the configurations present in both, their difference in a metric, and
whether it is significant — McNemar's exact test on paired predictions when both runs scored
the same test samples, else Welch's t-test over seeds; Holm-corrected across rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .leaderboard import ROW_KEYS
from .report.data import ReportData, load_report_data
from .stats import holm, mcnemar_exact

MATCH_KEYS = ["dataset", "featurizers", "fusion", "classifier"]


def welch(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Welch t-test p-value (NaN when a side has fewer than two values or no
    variance at all)."""
    from scipy.stats import ttest_ind

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:  # t undefined; equal constants differ by nothing
        return 1.0 if a[0] == b[0] else float("nan")
    return float(ttest_ind(a, b, equal_var=False).pvalue)


def _paired(a: ReportData, b: ReportData, ids_a: list[str], ids_b: list[str]) -> tuple[
        float, int, int, int] | None:
    """McNemar on the cells of both runs with the same seed/fold and the same test samples,
    discordant counts pooled over seeds; None when no such pair has stored predictions."""
    def by_split(data: ReportData, ids: list[str]) -> dict[tuple[Any, ...], str]:
        return {(data.records[i]["seed"], data.records[i].get("fold", 0),
                 data.records[i].get("dataset_fingerprint")): i for i in ids}

    sa, sb = by_split(a, ids_a), by_split(b, ids_b)
    ca, cb, pairs = [], [], 0
    for key in sorted(set(sa) & set(sb), key=str):
        pa, pb = a.predictions(sa[key]), b.predictions(sb[key])  # verified, or None
        if pa is None or pb is None or not np.array_equal(pa["test_index"], pb["test_index"]):
            continue
        ca.append(pa["y_pred"] == pa["y_true"])
        cb.append(pb["y_pred"] == pb["y_true"])
        pairs += 1
    if not pairs:
        return None
    right_a, right_b = np.concatenate(ca), np.concatenate(cb)
    b_, c = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    return mcnemar_exact(b_, c), b_, c, pairs


def compare_runs(dir_a: Path | str, dir_b: Path | str, metric: str | None = None,
                 alpha: float = 0.05, include_all: bool = False) -> tuple[pd.DataFrame, str]:
    """One row per configuration present in both runs (their current cells, or all with
    ``include_all``): mean metric in A and B, ``diff`` (B − A), the test used, ``p``,
    Holm-adjusted ``p_holm`` and ``significant``."""
    a = load_report_data(dir_a, metric, include_all)
    b = load_report_data(dir_b, metric or a.metric, include_all)
    metric = a.metric
    rows = []
    for _, ra in a.summary.iterrows():
        match = b.summary
        for k in MATCH_KEYS:
            match = match[match[k] == ra[k]]
        if match.empty:
            continue
        rb = match.iloc[0]
        ids_a, ids_b = a.cell_ids(ra), b.cell_ids(rb)
        paired = _paired(a, b, ids_a, ids_b)
        if paired is not None:
            p, nb, nc, pairs = paired
            test = f"McNemar exact, {pairs} paired seed(s), {nb}/{nc} discordant"
        else:
            va = [a.records[i]["metrics"][metric] for i in ids_a]
            vb = [b.records[i]["metrics"][metric] for i in ids_b]
            p, test = welch(va, vb), f"Welch t, {len(va)} vs {len(vb)} seed(s)"
        rows.append({**{k: ra[k] for k in ROW_KEYS}, f"{metric}_a": ra[metric],
                     f"{metric}_b": rb[metric], "diff": rb[metric] - ra[metric],
                     "n_a": int(ra["n"]), "n_b": int(rb["n"]), "test": test, "p": p})
    df = pd.DataFrame(rows)
    if df.empty:
        return df, metric
    df["p_holm"] = holm(df["p"].to_numpy())
    df["significant"] = df["p_holm"] < alpha
    return df.sort_values("diff", ascending=False, key=abs).reset_index(drop=True), metric
