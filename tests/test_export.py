"""Exports of stored results: CSV/Parquet round-trip the summary; Markdown and LaTeX tables
carry mean ± sd, gains and significance marks, escaped for their format."""

from __future__ import annotations

import io

import pandas as pd
from report_kit import build_results

import mmbench.report.data as report_data
from mmbench.cli import main
from mmbench.export import export


def test_csv_and_parquet_round_trip_the_summary(tmp_path):
    results = build_results(tmp_path / "r", with_extras=False)
    summary = report_data.load_report_data(results).summary
    _, text = export(results, "csv")
    back = pd.read_csv(io.StringIO(text))
    assert len(back) == len(summary) == 8
    assert back["accuracy"].tolist() == summary["accuracy"].tolist()
    path, _ = export(results, "parquet", tmp_path / "x.parquet")
    assert pd.read_parquet(path)["fusion"].tolist() == summary["fusion"].tolist()


def test_markdown_table(tmp_path, capsys):
    results = build_results(tmp_path / "r", with_extras=False)
    assert main(["export", str(results), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = [ln for ln in lines if ln.startswith("|")]
    assert len(table) == 2 + 8  # header, rule, one row per configuration
    assert all(ln.count(" | ") == table[0].count(" | ") for ln in table)
    best = table[2]
    assert "concat" in best and " ± " in best and "| +0.1" in best
    assert "---:" in table[1]


def test_latex_table_with_significance_marks(tmp_path, monkeypatch):
    results = build_results(tmp_path / "r", with_extras=False)

    def with_sig(df, store, metric="accuracy"):
        out = summarize(df, store, metric)
        out["significant"] = out["gain"] > 0.1
        return out

    summarize = report_data.summarize_with_stats
    monkeypatch.setattr(report_data, "summarize_with_stats", with_sig)
    path, text = export(results, "latex", tmp_path / "t.tex")
    assert path.read_text() == text
    assert "\\toprule" in text and "\\bottomrule" in text and "$\\pm$" in text
    assert "late-weighted(alpha=0.75)" in text
    assert text.count("$^{*}$") == 1  # only concat's gain (+0.17) is marked
    assert "±" not in text and "_" not in text.replace("\\_", "")
    assert main(["export", str(results), "--format", "latex", "-o", str(tmp_path / "u.tex")]) == 0
