"""Where a run's time went: printed after the run, stored in the manifest, in the report and,
per cell, in the leaderboard's columns; executor plugins import contracts only."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from mmbench.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_run_ends_with_the_breakdown_of_its_time(smoke_suite, tmp_path, capsys):
    assert main(["run", str(smoke_suite)]) == 0
    out = capsys.readouterr().out
    table = out[out.index("where the time went"):]
    for phase in ("loading data", "featurizing hog-color(pixels_per_cell=4)",
                  "featurizing tfidf(max_features=64, min_df=1)", "writing records",
                  "cells: fitting", "cells: predicting", "cells: scoring (metrics, bootstrap CIs)"):
        assert phase in table, phase
    assert "summed over 8 cell(s) in 1 process(es)" in out
    results = tmp_path / "results" / "t"
    cost = json.loads((results / "manifest.json").read_text())["cost"]
    records = [json.loads(p.read_text()) for p in (results / "cells").glob("*.json")]
    assert cost["n_cells"] == len(records) == 8
    # the cell phases are the sums of what the records hold
    fit = sum(r["timings"]["fit_s"] for r in records)
    assert abs(cost["cells"]["fitting"] - fit) < 1e-9
    assert all(r["timings"]["cell_other_s"] >= 0 for r in records)
    assert sum(cost["client"].values()) <= cost["wall_s"] + 1e-6

    # a second run computes nothing: features are read from the cache
    assert main(["run", str(smoke_suite), "--rerun"]) == 0
    again = capsys.readouterr().out
    assert "reading cached features" in again and "featurizing hog" not in again

    assert main(["leaderboard", str(results), "--columns", "accuracy,cost"]) == 0
    board = capsys.readouterr().out
    assert "score s" in board and "fit s" in board and "predict s" in board

    report = tmp_path / "r.html"
    assert main(["report", str(results), "-o", str(report)]) == 0
    html = report.read_text()
    section = html[html.index('id="cost"'):html.index('id="provenance"')]
    assert "cells: fitting" in section and "reading cached features" in section


def test_report_without_a_cost_in_the_manifest_sums_the_records(smoke_suite, tmp_path, capsys):
    assert main(["run", str(smoke_suite)]) == 0
    results = tmp_path / "results" / "t"
    manifest = json.loads((results / "manifest.json").read_text())
    del manifest["cost"]  # a folder written before mmbench kept the breakdown
    (results / "manifest.json").write_text(json.dumps(manifest))
    report = tmp_path / "r.html"
    assert main(["report", str(results), "-o", str(report)]) == 0
    section = report.read_text().split('id="cost"')[1].split('id="provenance"')[0]
    assert "cells: fitting" in section and "summed over 8 cell(s)" in section


ALLOWED = {"mmbench", "mmbench.errors", "mmbench.protocols", "mmbench.hookspecs",
           "mmbench.executor_api", "mmbench.testing", "mmbench.progress"}


def test_executor_plugins_import_only_contracts():
    folder = REPO / "plugins" / "mmbench_executors"
    used: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     else [])
            for name in names:
                if name and name.split(".")[0] == "mmbench":
                    used.setdefault(name, set()).add(path.name)
    assert "mmbench.executor_api" in used
    assert set(used) <= ALLOWED, {k: v for k, v in used.items() if k not in ALLOWED}
