"""Cells whose seeds compute the same thing (a predefined split, deterministic plugins) run
once and are recorded for every seed; cells that use the seed run per seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rows_kit import rows_plugin  # noqa: F401 (fixture)

from mmbench.cli import main
from mmbench.stored import load_results

SUITE = """
name = "s"
seeds = {seeds}

[[datasets]]
name = "rows"
params = {{ sizes = [[24, 24, 24]], predefined = true }}
split = {split}

[[featurizers]]
name = "counting"

[[featurizers]]
name = "pixels"
params = {{ stride = 4 }}

[[fusions]]
name = "concat"

[[fusions]]
name = "late-mean"

[[fusions]]
name = "stacking"
params = {{ cv = 3 }}

[[classifiers]]
name = "logreg"

[[classifiers]]
name = "random-forest"
params = {{ n_estimators = 10 }}
only = {{ fusions = ["unimodal", "concat"] }}
"""

PREDEFINED = '{ method = "predefined" }'


def records(path: Path) -> list[dict]:
    cells = path.parent / "results" / "s" / "cells"
    return [json.loads(p.read_text()) for p in sorted(cells.glob("*.json"))]


def what(rec: dict) -> tuple:
    return (rec["fusion"]["label"], tuple(f["label"] for f in rec["featurizers"].values()),
            rec["classifier"]["name"])


def test_seed_free_cells_run_once_and_are_recorded_for_every_seed(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write_suite(SUITE.format(seeds="[0, 1, 2]", split=PREDEFINED))
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    recs = records(path)
    assert len(recs) == 3 * 8 and all(r["status"] == "ok" for r in recs)
    stored = load_results(path.parent / "results" / "s")
    by_id = {r["cell_id"]: r for r in recs}
    shared = [r for r in recs if "same_as" in r]
    # logreg on unimodal (2), concat and late-mean: 4 computations stand for seeds 1 and 2
    assert len(shared) == 2 * 4
    assert {what(r) for r in shared} == {
        ("unimodal(modality='image')", ("pixels(stride=4)",), "logreg"),
        ("unimodal(modality='text')", ("counting",), "logreg"),
        ("concat", ("pixels(stride=4)", "counting"), "logreg"),
        ("late-mean", ("pixels(stride=4)", "counting"), "logreg")}
    assert "8 of them computed once with another seed" in out
    for rec in shared:
        leader = by_id[rec["same_as"]["cell_id"]]
        assert leader["seed"] == rec["same_as"]["seed"] == 0 != rec["seed"]
        assert "same_as" not in leader and what(leader) == what(rec)
        assert rec["metrics"] == leader["metrics"]
        mine, theirs = (stored.predictions(r["cell_id"]) for r in (rec, leader))
        assert np.array_equal(mine["proba"], theirs["proba"])
    # the seed reaches random forests and stacking's folds: each seed runs its own
    used = [r for r in recs if r["classifier"]["name"] == "random-forest"
            or r["fusion"]["name"] == "stacking"]
    assert used and not any("same_as" in r for r in used)
    forests = {r["seed"]: stored.predictions(r["cell_id"])["proba"] for r in used
               if what(r)[0] == "concat"}
    assert not np.array_equal(forests[0], forests[1])


def test_a_shared_record_equals_running_that_seed_alone(
        write_suite, rows_plugin: None, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    together = write_suite(SUITE.format(seeds="[0, 2]", split=PREDEFINED))
    assert main(["run", str(together)]) == 0
    alone_dir = tmp_path / "alone"
    alone_dir.mkdir()
    alone = alone_dir / "suite.toml"
    alone.write_text(f'results_dir = "{alone_dir / "results"}"\n'
                     + SUITE.format(seeds="[2]", split=PREDEFINED))
    assert main(["run", str(alone)]) == 0
    first = {(what(r), r["seed"]): r for r in records(together)}
    second = {(what(r), r["seed"]): r for r in records(alone)}
    checked = 0
    for key, rec in second.items():
        assert "same_as" not in rec
        if "same_as" in first[key]:
            assert first[key]["metrics"] == rec["metrics"], key
            checked += 1
    assert checked == 4


def test_seed_drawn_splits_are_not_shared(
        write_suite, rows_plugin: None) -> None:  # type: ignore[no-untyped-def]
    path = write_suite(SUITE.format(seeds="[0, 1]", split='{ method = "stratified" }'))
    assert main(["run", str(path)]) == 0
    assert not any("same_as" in r for r in records(path))
