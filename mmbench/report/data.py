"""What a report shows, computed from a results folder alone (records, manifest, audit)."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..gain_stats import summarize_with_stats
from ..leaderboard import ROW_KEYS, _headline, add_gain, cells_frame
from ..stored import StoredResults, load_results


@dataclass
class ReportData:
    """A suite's stored results, loaded once for the report and the exports."""

    results_dir: Path
    metric: str
    records: dict[str, dict[str, Any]]  # cell_id -> ok record
    failed: list[dict[str, Any]]
    cells: pd.DataFrame  # one row per ok cell, with ``gain``
    summary: pd.DataFrame  # one row per configuration (leaderboard.summarize)
    manifest: dict[str, Any]
    audit: Any = None
    groups: dict[tuple[Any, ...], list[str]] = field(default_factory=dict)
    stored: StoredResults | None = None

    def cell_ids(self, row: pd.Series) -> list[str]:
        """Ids of the cells (seeds, folds) behind one summary row."""
        return self.groups.get(tuple(row[k] for k in ROW_KEYS), [])

    def fusion_spec(self, row: pd.Series) -> tuple[str, dict[str, Any]]:
        """(fusion name, fusion params) of a summary row."""
        ids = self.cell_ids(row)
        fusion = self.records[ids[0]]["fusion"] if ids else {"name": row["fusion"]}
        return fusion["name"], dict(fusion.get("params") or {})

    def predictions(self, cell_id: str) -> dict[str, np.ndarray] | None:
        """A cell's verified predictions, or None (see :mod:`mmbench.stored`)."""
        return self.stored.predictions(cell_id) if self.stored is not None else None

    def class_names(self, dataset: str) -> list[str]:
        for rec in self.records.values():
            if rec["dataset"]["label"] == dataset:
                return list(rec.get("class_names") or [])
        return []


def load_report_data(results_dir: Path | str, metric: str | None = None,
                     include_all: bool = False) -> ReportData:
    """Load ``results/<suite>`` (its current cells, or all with ``include_all``: see
    :mod:`mmbench.stored`); raises :class:`UserError` when it holds no usable record."""
    stored = load_results(results_dir, include_all)
    metric = metric or _headline(stored.manifest) or "accuracy"
    cells = cells_frame(list(stored.ok.values()))
    groups = {key: list(g["cell_id"]) for key, g in
              cells.groupby(ROW_KEYS, sort=False, dropna=False)}
    audit_path = stored.root / "audit.json"
    try:
        audit = json.loads(audit_path.read_text()) if audit_path.exists() else None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        warnings.warn(f"ignoring unreadable leakage audit {audit_path}: {exc}", stacklevel=2)
        audit = None
    return ReportData(stored.root, metric, stored.ok, stored.failed, add_gain(cells, metric),
                      summarize_with_stats(cells, stored, metric), stored.manifest, audit,
                      groups, stored)


def gain_table(data: ReportData) -> pd.DataFrame:
    """Fusion rows with their gain and an interval: the statistics' confidence interval when
    the summary has one (``gain_ci_low``/``gain_ci_high``), else mean ± one sd over seeds."""
    s = data.summary
    rows = s[(s["level"] != "unimodal") & s["gain"].notna()].copy()
    if rows.empty:
        return rows
    if {"gain_ci_low", "gain_ci_high"} <= set(rows.columns):
        rows["lo"], rows["hi"] = rows["gain_ci_low"], rows["gain_ci_high"]
        rows["interval"] = "95% CI"
    else:
        sd = data.cells.groupby(ROW_KEYS, sort=False, dropna=False)["gain"].std(ddof=1)
        sd = rows.set_index(ROW_KEYS).index.map(lambda k: sd.get(k, np.nan))
        sd = np.nan_to_num(np.asarray(sd, dtype=float))
        rows["lo"], rows["hi"] = rows["gain"] - sd, rows["gain"] + sd
        rows["interval"] = "± 1 sd over seeds"
    return rows.sort_values("gain", ascending=False)


def alpha_sweeps(data: ReportData) -> list[dict[str, Any]]:
    """Curves of the headline metric against ``alpha`` for fusions with an ``alpha`` param:
    one per (dataset, featurizers, fusion name, other params, classifier)."""
    curves: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _, row in data.summary.iterrows():
        name, params = data.fusion_spec(row)
        alpha = params.pop("alpha", None)
        if not isinstance(alpha, int | float) or isinstance(alpha, bool):
            continue
        rest = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        key = (row["dataset"], row["featurizers"], name, rest, row["classifier"])
        curve = curves.setdefault(key, {
            "dataset": row["dataset"], "featurizers": row["featurizers"],
            "label": f"{name}({rest}) · {row['classifier']}" if rest
            else f"{name} · {row['classifier']}", "classifier": row["classifier"],
            "points": []})
        curve["points"].append((float(alpha), float(row[data.metric]),
                                float(row.get(f"{data.metric}_std", 0.0))))
    for curve in curves.values():
        curve["points"].sort()
    return [c for c in curves.values() if len(c["points"]) >= 2]


def robustness_curves(data: ReportData) -> list[dict[str, Any]]:
    """Per configuration with a ``robustness`` record field: mean over its cells of
    ``{corruption: {level: score}}`` and of the AUC per corruption (when recorded)."""
    out = []
    for _, row in data.summary.iterrows():
        per_corr: dict[str, dict[float, list[float]]] = {}
        aucs: dict[str, list[float]] = {}
        for cid in data.cell_ids(row):
            curves, auc = parse_robustness(data.records[cid].get("robustness"))
            for corr, pts in curves.items():
                for level, score in pts.items():
                    per_corr.setdefault(corr, {}).setdefault(level, []).append(score)
            for corr, value in auc.items():
                aucs.setdefault(corr, []).append(value)
        if per_corr:
            out.append({**{k: row[k] for k in ROW_KEYS}, "metric": row[data.metric],
                        "curves": {c: sorted((lv, float(np.mean(v))) for lv, v in pts.items())
                                   for c, pts in per_corr.items()},
                        "auc": {c: float(np.mean(v)) for c, v in aucs.items()}})
    return out


def parse_robustness(field_: Any) -> tuple[dict[str, dict[float, float]], dict[str, float]]:
    """Read a record's ``robustness`` field leniently: ``{corruption: {level: score}}``,
    optionally under ``"curves"``, with an AUC as ``"auc"`` (a number or per corruption) or
    ``"<corruption>_auc"``/``{"auc": ...}`` inside a corruption."""
    curves: dict[str, dict[float, float]] = {}
    aucs: dict[str, float] = {}
    if not isinstance(field_, dict):
        return curves, aucs
    items = dict(field_.get("curves", {})) if isinstance(field_.get("curves"), dict) else {}
    items.update({k: v for k, v in field_.items() if k != "curves"})
    for key, value in items.items():
        if key.lower().startswith("auc") or key.lower().endswith("_auc"):
            if _num(value) is not None:
                aucs[key.removesuffix("_auc") if key != "auc" else "all"] = _num(value)
            elif isinstance(value, dict):
                aucs.update({c: _num(v) for c, v in value.items() if _num(v) is not None})
        elif isinstance(value, dict):
            pts = {_num(lv): _num(sc) for lv, sc in value.items()}
            if isinstance(value.get("auc"), int | float):
                aucs[key] = float(value["auc"])
            pts = {lv: sc for lv, sc in pts.items() if lv is not None and sc is not None}
            if pts:
                curves[key] = pts
    return curves, aucs


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def best_rows(data: ReportData, dataset: str, k: int = 3) -> pd.DataFrame:
    """The ``k`` best configurations of one dataset (the summary is sorted best first)."""
    return data.summary[data.summary["dataset"] == dataset].head(k)


def per_class_recall(data: ReportData, row: pd.Series) -> np.ndarray:
    """Mean per-class recall over a configuration's cells."""
    vals = [data.records[c]["metrics"].get("per_class_recall") for c in data.cell_ids(row)]
    vals = [v for v in vals if v]
    return np.mean(np.asarray(vals, dtype=float), axis=0) if vals else np.zeros(0)


def confusion(data: ReportData, row: pd.Series) -> np.ndarray:
    """Confusion counts summed over a configuration's cells (rows: true, columns: predicted)."""
    mats = [data.records[c]["metrics"].get("confusion") for c in data.cell_ids(row)]
    mats = [np.asarray(m) for m in mats if m]
    return np.sum(mats, axis=0) if mats else np.zeros((0, 0))
