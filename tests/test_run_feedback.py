"""What a run says and leaves, through the CLI (issue 16, item 14): ``~`` in a suite is the home
folder, ``audit.json`` is JSON, a missing metric is said, a run stopped by bad input leaves no
audit, plugin prints stay off stdout, a large plan is stated and wants ``--yes``, and a failure
names the plugin's distribution and where its traceback is."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from misbehave_kit import install, mmbench
from test_integrity import HOG, LOGREG, TFIDF, suite


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("feedback") / "site")


def test_a_tilde_in_results_dir_is_the_home_folder(site, tmp_path):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    path = suite(tmp_path, "t", HOG + LOGREG)
    path.write_text(path.read_text().replace(f'results_dir = "{tmp_path / "results"}"',
                                             'results_dir = "~/runs"'))
    done = mmbench(site, "run", path, env={"HOME": str(home)}, cwd=work)
    assert done.returncode == 0, done.stderr
    assert (home / "runs" / "t" / "manifest.json").is_file()
    assert not (work / "~").exists()


def strict_json(text: str) -> object:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_audit_json_is_strict_json(site, tmp_path):
    path = suite(tmp_path, "a", TFIDF + LOGREG)
    path.write_text(path.read_text().replace('name = "synthetic"\nparams = { n = 120, '
                                             'n_classes = 3 }', 'name = "sparse-classes"'))
    done = mmbench(site, "run", path)
    assert done.returncode == 0, done.stderr
    audits = strict_json((tmp_path / "results" / "a" / "audit.json").read_text())
    (audit,) = audits.values()
    assert audit["modalities"]["text"]["per_class_share"]["never-seen"] is None


def test_a_missing_metric_is_said_not_hidden(site, tmp_path):
    path = suite(tmp_path, "m", HOG + LOGREG)
    path.write_text(path.read_text().replace("seeds = [0]", "seeds = [0, 1]"))
    assert mmbench(site, "run", path).returncode == 0
    results = tmp_path / "results" / "m"
    first = sorted((results / "cells").glob("*.json"))[0]
    record = json.loads(first.read_text())
    kept = record["metrics"]["accuracy"]
    record["metrics"]["macro_f1"] = math.nan  # as a plugin's metric could be
    first.write_text(json.dumps(record))
    board = mmbench(site, "leaderboard", results, "--columns", "accuracy,macro_f1,n")
    assert board.returncode == 0, board.stderr
    row = next(ln for ln in board.stdout.splitlines() if "unimodal" in ln)
    assert "(1 of 2 missing)" in row and "± 0.0000" not in row.split("(1 of 2")[0][-12:], row
    others = json.loads(sorted((results / "cells").glob("*.json"))[1].read_text())
    assert f"{others['metrics']['macro_f1']:.4f} (1 of 2 missing)" in row, row
    assert f"{(kept + others['metrics']['accuracy']) / 2:.4f} ±" in row, row
    md = mmbench(site, "export", results, "--format", "markdown").stdout
    assert "(1 of 2 missing)" in md, md


def test_a_run_stopped_by_bad_input_leaves_no_audit(site, tmp_path):
    path = suite(tmp_path, "b", TFIDF + '[[classifiers]]\nname = "inplace-scaler"\n')
    done = mmbench(site, "run", path)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr
    results = tmp_path / "results" / "b"
    assert not (results / "audit.json").exists() and not (results / "manifest.json").exists()
    assert not list((results / "cells").glob("*.json")) if (results / "cells").exists() else True


def test_a_plugin_printing_at_import_leaves_plugins_json_clean(site):
    done = mmbench(site, "plugins", "--json", env={"MISBEHAVE_PRINT_AT_IMPORT": "1"})
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)  # stdout is the JSON document alone
    assert any(p["name"] == "misbehave" for p in listed["plugins"])
    assert "misbehave: hello from import time" in done.stderr


def test_a_large_plan_is_stated_and_wants_yes(site, tmp_path):
    path = suite(tmp_path, "big", HOG + TFIDF + '[[fusions]]\nname = "concat"\n' + LOGREG)
    env = {"MMBENCH_CONFIRM_CELLS": "2"}
    done = mmbench(site, "run", path, env=env)
    assert done.returncode == 2
    (line,) = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert "plans 3 cells, 3 of them to run (more than 2); nothing was started: run it with " \
           "--yes" in line, line
    assert not (tmp_path / "results").exists()
    done = mmbench(site, "run", path, "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("plan: 3 cells, 3 without a record (0 recorded before)")
    again = mmbench(site, "run", path, env=env)  # nothing left to run: no question
    assert again.returncode == 0 and "plan: 3 cells, 0 without a record" in again.stdout


def test_a_failure_names_the_distribution_and_where_its_traceback_is(site, tmp_path):
    path = suite(tmp_path, "f", HOG + '[[classifiers]]\nname = "raises"\n')
    done = mmbench(site, "run", path)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    line = done.stdout[done.stdout.index("failed:"):]  # (wrapped at the terminal's width)
    (record,) = (tmp_path / "results" / "f" / "cells").glob("*.json")
    assert line.replace("\n", "").endswith(f"RuntimeError: boom in fit (raised in classifier raises, plugin "
                         f"misbehave from mmbench-misbehave 0.1.0; traceback in {record})"), line
    assert "boom in fit" in json.loads(record.read_text())["traceback"]
    assert "1 run, 1 failed" in done.stdout
