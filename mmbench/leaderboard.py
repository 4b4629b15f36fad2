"""Leaderboards, computed from stored records alone (never from a run's memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .metrics import SCALAR_METRICS, mean_sd_text
from .protocols import LEVELS
from .gain_stats import extra_columns, summarize_with_stats
from .scoring import PROPER_SCORES
from .selection import cell_columns, row_columns
from .stored import StoredResults, load_results

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
            "fusion": r["fusion"]["name"] if r["level"] == "unimodal" else marked(r["fusion"]),
            "level": r["level"],
            "classifier": marked(r["classifier"]),
            "seed": r["seed"],
            "fold": r.get("fold", 0),
            **{f"feat:{m}": lab for m, lab in feats.items()},
            **{m: r["metrics"][m] for m in SCALAR_METRICS},
            **{k: v for k, v in r.get("timings", {}).items()},
            **extra_columns(r),
            **cell_columns(r),
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
    value_cols = [*SCALAR_METRICS, "gain", "fit_s", "predict_s", "score_s", "robust_s",
                  "tune_s", *PROPER_SCORES]
    value_cols = [c for c in value_cols if c in df.columns]
    grouped = df.groupby(ROW_KEYS, sort=False, dropna=False)
    out = grouped[value_cols].mean()
    std = grouped[list(SCALAR_METRICS)].std(ddof=1)
    count = grouped[list(SCALAR_METRICS)].count()
    out["n"] = grouped.size()
    for col in SCALAR_METRICS:  # sd over the values there are (a single one: 0)
        out[f"{col}_std"] = std[col].where(count[col] != 1, 0.0)
        out[f"{col}_missing"] = out["n"] - count[col]  # NaN metrics: said, not hidden
    out = out.reset_index().merge(row_columns(df, metric, ROW_KEYS), on=ROW_KEYS, how="left")
    out["level_order"] = out["level"].map({lv: i for i, lv in enumerate(LEVELS)})
    return out.sort_values([metric, "level_order"], ascending=[False, True]).reset_index(
        drop=True
    )


def load_summary(results_dir: Path, metric: str | None = None, include_all: bool = False,
                 ) -> tuple[pd.DataFrame, str]:
    """(summary frame, headline metric) for a stored suite's results (its current cells, or
    all with ``include_all``; see :mod:`mmbench.stored`)."""
    summary, metric, _ = load_board(results_dir, metric, include_all)
    return summary, metric


def load_board(results_dir: Path, metric: str | None = None, include_all: bool = False,
               ) -> tuple[pd.DataFrame, str, StoredResults]:
    """:func:`load_summary` and the stored results it was computed from."""
    stored = load_results(results_dir, include_all)
    metric = metric or _headline(stored.manifest) or "accuracy"
    cells = cells_frame(list(stored.ok.values()))
    return summarize_with_stats(cells, stored, metric), metric, stored


def _headline(manifest: dict[str, Any]) -> str | None:
    import tomllib

    try:
        return tomllib.loads(manifest.get("suite_text", "")).get("headline")
    except tomllib.TOMLDecodeError:
        return None


#: Columns ``--columns`` can choose (``cost`` = fit_s,predict_s,score_s,mem,dims; ``robustness`` = one
#: column per corruption with the headline metric's relative robustness).
COLUMNS = ("accuracy", "macro_recall", "macro_f1", "ci", "gain", "gain_ci", "p", "n",
           "fit_s", "predict_s", "score_s", "robust_s", "mem", "dims", "robustness",
           *PROPER_SCORES, "tuned", "optimism", "tune_s")
DEFAULT_COLUMNS = ("accuracy", "macro_recall", "macro_f1", "ci", "gain", "gain_ci", "p", "n",
                   "robustness")
ALIASES = {"cost": ("fit_s", "predict_s", "score_s", "tune_s", "mem", "dims"),
           "scores": PROPER_SCORES}
HEADERS = {"accuracy": "accuracy", "macro_recall": "macro recall", "macro_f1": "macro F1",
           "p": "p (Holm)", "n": "n", "fit_s": "fit s", "predict_s": "predict s",
           "score_s": "score s", "robust_s": "robust s",
           "mem": "fit MiB", "dims": "dims", "log_loss": "log loss", "brier": "Brier",
           "ece": "ECE (15 bins)", "tuned": "tuned (inner split)",
           "optimism": "optimism", "tune_s": "tune s"}


def parse_columns(spec: str | None) -> tuple[str, ...]:
    """``"accuracy,gain,cost"`` -> column keys; raises UserError naming unknown ones."""
    if not spec:
        return DEFAULT_COLUMNS
    out: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if part not in COLUMNS and part not in ALIASES:
            from .errors import UserError

            raise UserError(f"unknown leaderboard column {part!r}; choose from "
                            f"{', '.join((*COLUMNS, *ALIASES))}")
        out.extend(ALIASES.get(part, (part,)))
    return tuple(dict.fromkeys(out))


def _num(value: Any, fmt: str = "{:.4f}") -> str:
    return "" if value is None or pd.isna(value) else fmt.format(value)


def _cell_text(key: str, row: pd.Series, metric: str) -> str:
    n = int(row["n"])
    if key in SCALAR_METRICS:
        return mean_sd_text(row[key], row[f"{key}_std"], n, int(row.get(f"{key}_missing", 0)))
    if key == "ci":
        lo, hi = row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
        return "" if lo is None or pd.isna(lo) else f"[{lo:.3f}, {hi:.3f}]"
    if key == "gain":
        gain = row.get("gain")
        if gain is None or pd.isna(gain):
            return ""
        mark = "*" if bool(row.get("significant", False)) else ""
        return f"[{'green' if gain > 0 else 'red'}]{gain:+.4f}{mark}[/]"
    if key == "gain_ci":
        lo, hi = row.get("gain_ci_low"), row.get("gain_ci_high")
        return "" if lo is None or pd.isna(lo) else f"[{lo:+.3f}, {hi:+.3f}]"
    if key == "p":
        return _num(row.get("p_holm"), "{:.3g}")
    if key == "n":
        return str(n)
    if key in ("fit_s", "predict_s", "score_s", "robust_s", "tune_s"):
        return _num(row.get(key), "{:.3f}")
    if key in PROPER_SCORES:
        return _num(row.get(key), "{:.4f}")
    if key == "tuned":
        return escape(str(row.get("tuned") or ""))
    if key == "optimism":
        return _num(row.get("optimism"), "{:+.4f}")
    if key == "mem":
        return _num(row.get("fit_peak_rss_mb"), "{:.1f}")
    if key == "dims":
        return str(row.get("dims") or "")
    return _num(row.get(key), "{:.3f}")  # rob:<corruption>


def render(summary: pd.DataFrame, metric: str, title: str = "leaderboard",
           columns: tuple[str, ...] | None = None) -> Table:
    """A rich table of the summary, best first, rows styled by fusion level. ``columns`` picks
    the value columns (see :data:`COLUMNS`); a ``*`` marks a significant gain."""
    table = Table(title=title, header_style="bold")
    show_dataset = summary["dataset"].nunique() > 1 if not summary.empty else False
    modalities = sorted({m for f in summary.get("featurizers", []) for m in _feats(f)})
    keys: list[str] = []
    for key in columns or DEFAULT_COLUMNS:
        if key == "robustness":
            keys += sorted(c for c in summary.columns if c.startswith("rob:") and c.count(":") == 1)
        elif key in ("gain", "gain_ci", "p") and not (summary["level"] != "unimodal").any():
            continue
        else:
            keys.append(key)
    table.add_column("#", justify="right")
    if show_dataset:
        table.add_column("dataset")
    for col in (*modalities, "fusion", "level", "classifier"):
        table.add_column(escape(col))
    for key in keys:
        header = {"ci": f"95% CI ({metric})", "gain": f"gain ({metric})",
                  "gain_ci": "gain 95% CI"}.get(key) or HEADERS.get(key) or (
            f"robust {key[4:]}" if key.startswith("rob:") else key)
        table.add_column(escape(header), justify="right")
    for i, row in summary.iterrows():
        feats = _feats(row["featurizers"])
        cells = [str(i + 1)] + ([row["dataset"]] if show_dataset else [])
        cells += [feats.get(m, "") for m in modalities]
        cells += [row["fusion"], row["level"], row["classifier"]]
        cells = [escape(str(c)) for c in cells]  # labels are plain text, never rich markup
        cells += [_cell_text(k, row, metric) for k in keys]
        table.add_row(*cells, style=LEVEL_STYLE.get(row["level"], ""))
    return table


def _feats(featurizers: str) -> dict[str, str]:
    """``"image:hog + text:tfidf"`` -> ``{"image": "hog", "text": "tfidf"}``."""
    return dict(part.split(":", 1) for part in featurizers.split(" + ") if ":" in part)


def print_leaderboard(results_dir: Path, console: Console, metric: str | None = None,
                      columns: str | None = None, include_all: bool = False) -> None:
    from .audit import audit_lines, load_audit

    summary, metric, stored = load_board(results_dir, metric, include_all)
    console.print(render(summary, metric, title=escape(f"{results_dir.name} — sorted by {metric}"),
                         columns=parse_columns(columns)))
    if "significant" in summary and (summary["level"] != "unimodal").any():
        console.print(f"ci: mean over seeds of per-cell 95% bootstrap intervals; * = fusion vs "
                      f"best single modality significant (McNemar exact, seeds pooled, "
                      f"Holm over {int(summary['p_value'].notna().sum())} rows, p < 0.05)",
                      highlight=False)
    datasets = {r["dataset"]["label"] for r in stored.ok.values()}
    audits = {k: v for k, v in load_audit(results_dir).items() if k in datasets}
    for level, line in audit_lines(audits):
        style = {"leak": "bold red", "partial": "yellow", "duplicates-leak": "bold red",
                 "duplicates-partial": "yellow"}.get(level, "dim")
        prefix = {"leak": "WARNING caption leakage: ", "partial": "note: ",
                  "duplicates-leak": "WARNING train/test duplicates: ",
                  "duplicates-partial": "note: train/test duplicates: "}.get(level, "audit: ")
        console.print(f"[{style}]{escape(prefix + line)}[/]", highlight=False)
    from .complementarity import lines as complementarity_lines
    from .complementarity import compute as complementarity

    for line in complementarity_lines(complementarity(stored)):
        console.print(f"[cyan]modalities:[/] {escape(line)}", highlight=False)
    keys = parse_columns(columns)
    if "optimism" in keys and summary.get("optimism", pd.Series(dtype=float)).notna().any():
        console.print("optimism: the best candidate read off the test split (mean over seeds) "
                      "minus the row's score, its value chosen on the inner split",
                      highlight=False)
    for note in [*suite_notes(stored.manifest, metric), *stored.notes()]:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)


def suite_notes(manifest: dict[str, Any], metric: str) -> list[str]:
    """Warnings about the suite's choices (accuracy headline with an imbalanced training set)."""
    import tomllib

    try:
        raw = tomllib.loads(manifest.get("suite_text", ""))
    except tomllib.TOMLDecodeError:
        return []
    if raw.get("imbalance") and metric == "accuracy":
        return ["the training split is subsampled to imbalance "
                f"{raw['imbalance']} but the headline is accuracy; macro_recall is the natural "
                "headline (set headline = \"macro_recall\" in the suite)"]
    return []
