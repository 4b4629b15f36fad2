"""Leaderboards, computed from stored records alone (never from a run's memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from .metrics import SCALAR_METRICS
from .protocols import LEVELS
from .results import ResultStore

ROW_KEYS = ["dataset", "featurizers", "fusion", "level", "classifier"]
LEVEL_STYLE = {"unimodal": "dim", "feature": "cyan", "decision": "magenta", "structure": "green"}


def cells_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per ok cell, with flat columns (``feat:<modality>`` per modality)."""
    rows = []
    for r in records:
        if r.get("status") != "ok":
            continue
        feats = {m: marked(f) for m, f in r["featurizers"].items()}
        row = {
            "cell_id": r["cell_id"],
            "dataset": r["dataset"]["label"],
            "featurizers": " + ".join(f"{m}:{lab}" for m, lab in sorted(feats.items())),
            "fusion": r["fusion"]["name"] if r["level"] == "unimodal" else r["fusion"]["label"],
            "level": r["level"],
            "classifier": marked(r["classifier"]),
            "seed": r["seed"],
            "fold": r.get("fold", 0),
            **{f"feat:{m}": lab for m, lab in feats.items()},
            **{m: r["metrics"][m] for m in SCALAR_METRICS},
            **{k: v for k, v in r.get("timings", {}).items()},
        }
        rows.append(row)
    return pd.DataFrame(rows)


def marked(described: dict[str, Any]) -> str:
    """A variant's label with its record notes appended: ``clip-image(...) (random weights)``."""
    return described["label"] + "".join(f" ({n})" for n in described.get("notes", []))


def add_gain(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``gain``: a fusion cell's metric minus the best unimodal cell that used one of the same
    featurizers, with the same dataset, classifier, seed and fold (NaN for unimodal cells)."""
    df = df.copy()
    df["gain"] = np.nan
    if df.empty:
        return df
    uni = df[df["level"] == "unimodal"]
    feat_cols = [c for c in df.columns if c.startswith("feat:")]
    best: dict[tuple[Any, ...], float] = {}
    for _, u in uni.iterrows():
        for col in feat_cols:
            if isinstance(u[col], str):
                key = (u["dataset"], u["classifier"], u["seed"], u["fold"], col, u[col])
                best[key] = max(best.get(key, -np.inf), u[metric])
    for idx, row in df[df["level"] != "unimodal"].iterrows():
        scores = [
            best[k]
            for col in feat_cols
            if isinstance(row[col], str)
            and (k := (row["dataset"], row["classifier"], row["seed"], row["fold"], col,
                       row[col])) in best
        ]
        if scores:
            df.loc[idx, "gain"] = row[metric] - max(scores)
    return df


def summarize(df: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """One row per configuration: mean and std over seeds/folds, sorted by ``metric``."""
    if df.empty:
        return df
    df = add_gain(df, metric)
    value_cols = [*SCALAR_METRICS, "gain", "fit_s", "predict_s"]
    value_cols = [c for c in value_cols if c in df.columns]
    grouped = df.groupby(ROW_KEYS, sort=False, dropna=False)
    out = grouped[value_cols].mean()
    std = grouped[list(SCALAR_METRICS)].std(ddof=1).fillna(0.0)
    for col in SCALAR_METRICS:
        out[f"{col}_std"] = std[col]
    out["n"] = grouped.size()
    out = out.reset_index()
    out["level_order"] = out["level"].map({lv: i for i, lv in enumerate(LEVELS)})
    return out.sort_values([metric, "level_order"], ascending=[False, True]).reset_index(
        drop=True
    )


def load_summary(results_dir: Path, metric: str | None = None) -> tuple[pd.DataFrame, str]:
    """(summary frame, headline metric) for a stored suite's results."""
    store = ResultStore(results_dir)
    records = list(store.records())
    if not records:
        from .errors import UserError

        raise UserError(f"no result records in {results_dir / 'cells'}; run the suite first")
    manifest = store.manifest()
    metric = metric or _headline(manifest) or "accuracy"
    return summarize(cells_frame(records), metric), metric


def _headline(manifest: dict[str, Any]) -> str | None:
    import tomllib

    try:
        return tomllib.loads(manifest.get("suite_text", "")).get("headline")
    except tomllib.TOMLDecodeError:
        return None


def _pm(mean: float, std: float, n: int) -> str:
    return f"{mean:.4f} ± {std:.4f}" if n > 1 else f"{mean:.4f}"


def render(summary: pd.DataFrame, metric: str, title: str = "leaderboard") -> Table:
    """A rich table of the summary, best first, rows styled by fusion level."""
    table = Table(title=title, header_style="bold")
    show_dataset = summary["dataset"].nunique() > 1 if not summary.empty else False
    modalities = sorted({m for f in summary.get("featurizers", []) for m in _feats(f)})
    table.add_column("#", justify="right")
    if show_dataset:
        table.add_column("dataset")
    for col in (*modalities, "fusion", "level", "classifier"):
        table.add_column(col)
    for col in ("accuracy", "macro recall", "macro F1", f"gain ({metric})", "n"):
        table.add_column(col, justify="right")
    for i, row in summary.iterrows():
        n = int(row["n"])
        gain = row.get("gain")
        gain_s = "" if gain is None or pd.isna(gain) else f"{gain:+.4f}"
        style = ("green" if gain > 0 else "red") if gain_s else ""
        feats = _feats(row["featurizers"])
        cells = [str(i + 1)] + ([row["dataset"]] if show_dataset else [])
        cells += [feats.get(m, "") for m in modalities]
        cells += [row["fusion"], row["level"], row["classifier"]]
        cells += [_pm(row[m], row[f"{m}_std"], n) for m in SCALAR_METRICS]
        cells += [f"[{style}]{gain_s}[/]" if style else gain_s, str(n)]
        table.add_row(*cells, style=LEVEL_STYLE.get(row["level"], ""))
    return table


def _feats(featurizers: str) -> dict[str, str]:
    """``"image:hog + text:tfidf"`` -> ``{"image": "hog", "text": "tfidf"}``."""
    return dict(part.split(":", 1) for part in featurizers.split(" + ") if ":" in part)


def print_leaderboard(results_dir: Path, console: Console, metric: str | None = None) -> None:
    summary, metric = load_summary(results_dir, metric)
    console.print(render(summary, metric, title=f"{results_dir.name} — sorted by {metric}"))
