"""A leaderboard row is a result of this data and these plugins: a run reruns every recorded cell
whose data or plugin versions changed (keeping the old record aside, out of every reader), and
readers show only the cells of the current suite (``--all`` adds the others, marked). Through
the CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from misbehave_kit import install, mmbench
from test_cifar10 import jpeg_rows, make_set, write_batches, write_csv

CIFAR = """
name = "{name}"
results_dir = "{results}"
cache_dir = "{cache}"
seeds = [0]
[[datasets]]
name = "cifar10"
split = {{ method = "stratified", test_size = 0.34 }}
[[featurizers]]
name = "tfidf"
params = {{ min_df = 1 }}
[[classifiers]]
name = "logreg"
"""


def records(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((results / "cells").glob("*.json"))]


def data_folder(root: Path) -> Path:
    x, y = make_set()
    write_batches(root / "cifar10", x, y)
    write_csv(root / "cifar10" / "captions.csv", jpeg_rows(y))
    return root


def test_other_captions_under_the_data_dir_rerun_the_cell_and_refresh_the_audit(tmp_path):
    site = install(tmp_path / "site")
    a = data_folder(tmp_path / "data-a")
    b = tmp_path / "data-b"
    shutil.copytree(a, b)
    path = b / "cifar10" / "captions.csv"
    rows = list(csv.DictReader(path.open()))
    for r in rows:  # the same images with captions that name their class
        r["caption"] = f"a photo of a {r['label']}"
    write_csv(path, rows)
    suite = tmp_path / "s.toml"
    suite.write_text(CIFAR.format(name="cap", results=tmp_path / "results",
                                  cache=tmp_path / "cache"))
    results = tmp_path / "results" / "cap"
    assert mmbench(site, "run", suite, env={"MMBENCH_DATA_DIR": str(a)}).returncode == 0
    (old,) = records(results)
    old_audit = json.loads((results / "audit.json").read_text())

    done = mmbench(site, "run", suite, env={"MMBENCH_DATA_DIR": str(b)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "0 already recorded, 1 run" in done.stdout, done.stdout
    assert "1 recorded cell(s) were computed from other inputs (the data (fingerprint" in (
        done.stdout)
    (new,) = records(results)
    assert new["dataset_fingerprint"] != old["dataset_fingerprint"]
    # the value a fresh run on the new captions gets, not the old one
    fresh = tmp_path / "fresh.toml"
    fresh.write_text(CIFAR.format(name="cap", results=tmp_path / "fresh",
                                  cache=tmp_path / "cache-fresh"))
    assert mmbench(site, "run", fresh, env={"MMBENCH_DATA_DIR": str(b)}).returncode == 0
    (want,) = records(tmp_path / "fresh" / "cap")
    assert new["metrics"]["accuracy"] == want["metrics"]["accuracy"] != old["metrics"]["accuracy"]
    # the old record is kept aside, whole, and no reader sees it
    (aside,) = (results / "superseded").glob("*.json")
    kept = json.loads(aside.read_text())
    assert kept["dataset_fingerprint"] == old["dataset_fingerprint"]
    assert aside.with_suffix(".npz").is_file()
    audit = json.loads((results / "audit.json").read_text())
    (label,) = audit
    assert audit[label]["fingerprint"] == new["dataset_fingerprint"] != old_audit[label][
        "fingerprint"]
    assert audit[label]["modalities"]["text"]["share_own_class"] == 1.0
    board = mmbench(site, "leaderboard", results)
    assert f"{new['metrics']['accuracy']:.4f}" in board.stdout
    assert "captions leak the label" in board.stdout
    # run again with the same data: nothing to do
    again = mmbench(site, "run", suite, env={"MMBENCH_DATA_DIR": str(b)})
    assert "1 already recorded, 0 run" in again.stdout, again.stdout


VERSIONED = """
name = "v"
results_dir = "{results}"
cache_dir = "{cache}"
seeds = [0]
[[datasets]]
name = "synthetic"
params = {{ n = 90, n_classes = 3 }}
[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}
[[classifiers]]
name = "honest"
[[classifiers]]
name = "logreg"
"""


def test_an_upgraded_plugin_reruns_its_cells_and_nothing_names_the_old_version(tmp_path):
    site = install(tmp_path / "site", "0.1.0")
    suite = tmp_path / "v.toml"
    suite.write_text(VERSIONED.format(results=tmp_path / "results", cache=tmp_path / "cache"))
    results = tmp_path / "results" / "v"
    assert mmbench(site, "run", suite).returncode == 0
    for path in (results / "cells").glob("*.json"):  # as records written before `inputs`
        record = json.loads(path.read_text())
        del record["inputs"]
        path.write_text(json.dumps(record))
    same = mmbench(site, "run", suite)
    assert "2 already recorded, 0 run" in same.stdout, same.stdout + same.stderr

    install(site, "0.1.1")
    done = mmbench(site, "run", suite)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "1 already recorded, 1 run" in done.stdout, done.stdout
    assert ("1 recorded cell(s) were computed from other inputs (classifier mmbench-misbehave "
            "0.1.0 -> mmbench-misbehave 0.1.1)") in done.stdout, done.stdout
    versions = {r["classifier"]["name"]: r["classifier"]["version"] for r in records(results)}
    assert versions == {"honest": "mmbench-misbehave 0.1.1", "logreg": versions["logreg"]}
    (aside,) = (results / "superseded").glob("*.json")
    assert json.loads(aside.read_text())["classifier"]["version"] == "mmbench-misbehave 0.1.0"
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["plugins"]["misbehave"] == "mmbench-misbehave 0.1.1"
    report = tmp_path / "r.html"
    assert mmbench(site, "report", results, "-o", report).returncode == 0
    html = report.read_text()
    assert "misbehave (mmbench-misbehave 0.1.1)" in html and "misbehave 0.1.0" not in html


EDITED = """
name = "e"
results_dir = "{results}"
cache_dir = "{cache}"
seeds = {seeds}
[[datasets]]
name = "synthetic"
params = {{ n = 120, n_classes = 3 }}
[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}
[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}
[[fusions]]
name = "concat"
[[classifiers]]
name = "logreg"
params = {{ C = {C} }}
"""


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(plugin site, results of a suite run, then edited (other C, other seeds) and run
    again, results of the edited suite alone)."""
    tmp = tmp_path_factory.mktemp("edited")
    site = install(tmp / "site")
    suite = tmp / "e.toml"
    suite.write_text(EDITED.format(results=tmp / "results", cache=tmp / "cache",
                                   seeds="[0, 1]", C="[0.1, 1.0]"))
    assert mmbench(site, "run", suite).returncode == 0
    suite.write_text(EDITED.format(results=tmp / "results", cache=tmp / "cache",
                                   seeds="[0, 2]", C="[1.0, 10.0]"))
    done = mmbench(site, "run", suite)
    assert done.returncode == 0 and "3 already recorded, 9 run" in done.stdout, done.stdout
    alone = tmp / "alone.toml"
    alone.write_text(EDITED.format(results=tmp / "alone", cache=tmp / "cache",
                                   seeds="[0, 2]", C="[1.0, 10.0]"))
    assert mmbench(site, "run", alone).returncode == 0
    return site, tmp / "results" / "e", tmp / "alone" / "e"


def test_an_edited_suite_shows_only_its_own_rows(edited):
    site, results, alone = edited
    assert len(list((results / "cells").glob("*.json"))) == 21  # 9 old cells are kept
    board = mmbench(site, "leaderboard", results).stdout
    assert "C=0.1" not in board and "(not in the current suite)" not in board.split("note:")[0]
    assert "Holm over 2 rows" in board and "9 recorded cell(s)" in board, board
    got, want = (pd.read_csv(io.StringIO(mmbench(site, "export", r, "--format", "csv").stdout))
                 for r in (results, alone))
    numbers = ["accuracy", "macro_f1", "gain", "p_value", "p_holm", "n"]
    keys = ["featurizers", "fusion", "classifier"]
    pd.testing.assert_frame_equal(got.sort_values(keys)[keys + numbers].reset_index(drop=True),
                                  want.sort_values(keys)[keys + numbers].reset_index(drop=True))
    report = results / "r.html"
    assert mmbench(site, "report", results, "-o", report).returncode == 0
    assert "12 ok, 0 failed, 12 planned" in report.read_text()
    cmp = mmbench(site, "compare", alone, results)
    assert cmp.returncode == 0 and "0 of 6 differences significant" in cmp.stdout, cmp.stdout


def test_all_shows_the_rows_of_the_earlier_suite_marked(edited):
    site, results, _ = edited
    board = mmbench(site, "leaderboard", results, "--all")
    assert board.returncode == 0, board.stderr
    marked = [line for line in board.stdout.splitlines() if "(not in the current" in line]
    assert any("C=0.1" in line for line in marked)
    assert all("C=10.0" not in line for line in marked)
    assert "Holm over 4 rows" in board.stdout  # concat: 1.0, 10.0, and the marked 0.1 and 1.0
    csv_text = mmbench(site, "export", results, "--format", "csv", "--all").stdout
    assert csv_text.count("not in the current suite") == 6  # 3 configurations x 2 C's
