"""Exports of a suite's leaderboard: CSV and Parquet (every summary column, raw numbers) and
Markdown and LaTeX tables ready for a paper (mean ± sd, gain with significance marks)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from .cache import atomic_write_bytes
from .errors import UserError
from .writable import output_file
from .leaderboard import _feats
from .metrics import SCALAR_METRICS
from .report.data import load_report_data
from .report.fmt import SIG_MARK, gain_text, has_stats, metric_text

FORMATS = ("csv", "parquet", "markdown", "latex")
SUFFIX = {"csv": ".csv", "parquet": ".parquet", "markdown": ".md", "latex": ".tex"}


def paper_table(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The leaderboard as text cells: one column per modality's featurizer, fusion,
    classifier, each metric as ``mean ± sd``, gain (``*`` = significant), n."""
    modalities = sorted({m for f in summary["featurizers"] for m in _feats(f)})
    multi = summary["dataset"].nunique() > 1
    rows = []
    for _, row in summary.iterrows():
        feats = _feats(row["featurizers"])
        out = {"dataset": row["dataset"]} if multi else {}
        out.update({m: feats.get(m, "–") for m in modalities})
        out.update(fusion=row["fusion"], classifier=row["classifier"])
        out.update({m.replace("_", " "): metric_text(row, m) for m in SCALAR_METRICS})
        out[f"gain ({metric.replace('_', ' ')})"] = gain_text(row) or "–"
        out["n"] = str(int(row["n"]))
        rows.append(out)
    return pd.DataFrame(rows)


def _note(summary: pd.DataFrame) -> str:
    note = "mean ± sd over seeds/folds; gain over the best unimodal cell"
    if has_stats(summary):
        note += f"; {SIG_MARK} significant after Holm correction (p < 0.05)"
    return note


def to_markdown(summary: pd.DataFrame, metric: str) -> str:
    """A GitHub/pandoc pipe table, best row first, with a note on what the numbers are."""
    table = paper_table(summary, metric)
    numeric = {m.replace("_", " ") for m in SCALAR_METRICS} | {"n"}

    def esc(text: str) -> str:
        """Plain text in a cell: Markdown marks escaped, HTML as entities (no tags pass)."""
        text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return re.sub(r"([\\`*\[\]|])", r"\\\1", text)

    head = "| " + " | ".join(esc(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---:" if c in numeric or c.startswith("gain") else "---"
                             for c in table.columns) + " |"
    body = ["| " + " | ".join(esc(v) for v in row) + " |" for row in table.itertuples(False)]
    return "\n".join([head, rule, *body, "", f"_{esc(_note(summary))}_", ""])


def to_latex(summary: pd.DataFrame, metric: str, caption: str = "") -> str:
    """A booktabs ``table`` (pandas' Styler.to_latex, text escaped), ``±`` as ``$\\pm$``."""
    table = paper_table(summary, metric)
    gain = table.columns[-2]
    table[gain] = table[gain].str.replace(SIG_MARK, "\u2217")  # survives escaping
    n_text = len(table.columns) - len(SCALAR_METRICS) - 2
    styler = table.style.hide(axis="index").format(escape="latex").format_index(
        escape="latex", axis=1)
    latex = styler.to_latex(hrules=True, caption=f"{caption} ({_note(summary)})".strip(),
                            position="t", position_float="centering",
                            column_format="l" * n_text + "r" * (len(table.columns) - n_text))
    return latex.replace("±", r"$\pm$").replace("–", "--").replace("\u2217", r"$^{*}$")


def export(results_dir: Path | str, fmt: str, out: Path | str | None = None,
           metric: str | None = None, include_all: bool = False) -> tuple[Path | None, str]:
    """Write the export to ``out`` (``None``: return the text for stdout; binary formats then
    go to ``<results_dir>/leaderboard.<ext>``). Returns (path written or None, text)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if out is not None:  # checked before the work
        out = output_file(out, "export")
    data = load_report_data(results_dir, metric, include_all)
    summary = data.summary.drop(columns=["level_order"], errors="ignore")
    if fmt == "parquet":
        path = Path(out) if out else data.results_dir / "leaderboard.parquet"
        buf = io.BytesIO()
        summary.to_parquet(buf, index=False)
        atomic_write_bytes(path, buf.getvalue())  # never half a file
        return path, ""
    if fmt == "csv":
        text = summary.to_csv(index=False)
    elif fmt == "markdown":
        text = to_markdown(summary, data.metric)
    else:
        text = to_latex(summary, data.metric, caption=f"{data.results_dir.name}: {data.metric}")
    if out is None:
        return None, text
    atomic_write_bytes(Path(out), text.encode("utf-8"))
    return Path(out), text
