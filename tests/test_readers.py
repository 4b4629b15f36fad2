"""Readers (leaderboard, report, export, compare) use only what they can verify: a predictions
file whose sha256 is not its record's, or that does not fit it, and a damaged record, are each
skipped with one warning naming the file, and everything else is shown as before; a folder left
with nothing usable says so in one line (exit 2). Through the CLI."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from misbehave_kit import install, mmbench
from test_staleness import EDITED

@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(plugin site, results of a finished 6-cell run)."""
    tmp = tmp_path_factory.mktemp("readers")
    site = install(tmp / "site")
    suite = tmp / "e.toml"  # hog, tfidf, concat, logreg: 6 cells
    suite.write_text(EDITED.format(results=tmp / "results", cache=tmp / "cache",
                                   seeds="[0, 1]", C="1.0"))
    assert mmbench(site, "run", suite).returncode == 0
    return site, tmp / "results" / "e"


def copy_of(results: Path, dest: Path) -> Path:
    shutil.copytree(results, dest)
    return dest


def concat_cell(results: Path, seed: int = 0) -> str:
    for path in (results / "cells").glob("*.json"):
        r = json.loads(path.read_text())
        if r["fusion"]["name"] == "concat" and r["seed"] == seed:
            return path.stem
    raise AssertionError("no concat cell")


def rewrite_predictions(results: Path, cell: str, change: Callable[[dict], dict],
                        update_sha: bool) -> Path:
    path = results / "predictions" / f"{cell}.npz"
    with np.load(path) as npz:
        arrays = change({k: npz[k] for k in npz.files})
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())
    if update_sha:  # as if the record had been written with these predictions
        set_sha(results, cell, buf.getvalue())
    return path


def set_sha(results: Path, cell: str, blob: bytes) -> None:
    rec_path = results / "cells" / f"{cell}.json"
    record = json.loads(rec_path.read_text())
    record["predictions_sha256"] = hashlib.sha256(blob).hexdigest()
    rec_path.write_text(json.dumps(record))


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


def readers(site: Path, results: Path, clean: Path, tmp: Path) -> dict[str, object]:
    """Each reader on ``results``: its exit code and warnings, all must be 0 and the same."""
    out = {}
    for name, args in {"leaderboard": ["leaderboard", results],
                       "report": ["report", results, "-o", tmp / "r.html"],
                       "export": ["export", results, "--format", "csv"],
                       "compare": ["compare", results, clean]}.items():
        done = mmbench(site, *args)
        assert done.returncode == 0, (name, done.stdout[-2000:], done.stderr)
        out[name] = (warnings_of(done.stderr), done.stdout)
    return out


def board(csv_text: str) -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(csv_text))
    keys = ["featurizers", "fusion", "classifier"]
    cols = keys + ["accuracy", "gain", "gain_ci_low", "gain_ci_high", "p_value", "n"]
    return df.sort_values(keys)[cols].reset_index(drop=True)


def test_tampered_predictions_are_not_used_by_any_reader(run, tmp_path):
    site, results = run
    tampered = copy_of(results, tmp_path / "tampered")
    cell = concat_cell(tampered)
    path = rewrite_predictions(tampered, cell, lambda a: {**a, "y_pred": a["y_true"]}, False)
    got = readers(site, tampered, results, tmp_path)
    for name, (warned, _) in got.items():
        assert warned == [f"warning: skipping the predictions of cell {cell}: its predictions "
                          f"{path} do not match the checksum in the record"], (name, warned)
    # the statistics are those of the folder without that file, not of the edited one
    without = copy_of(results, tmp_path / "without")
    (without / "predictions" / f"{cell}.npz").unlink()
    want = mmbench(site, "export", without, "--format", "csv").stdout
    pd.testing.assert_frame_equal(board(got["export"][1]), board(want))
    assert not board(want)["gain_ci_low"].isna().all()  # the other seed still has its CI


def _truncate(results: Path, cell: str) -> Path:
    path = results / "predictions" / f"{cell}.npz"
    blob = path.read_bytes()[:300]
    path.write_bytes(blob)
    set_sha(results, cell, blob)
    return path


def _short(results: Path, cell: str) -> Path:
    return rewrite_predictions(results, cell, lambda a: {**a, "y_pred": a["y_pred"][:-1]}, True)


def _edit_record(change: Callable[[dict], None]) -> Callable[[Path, str], Path]:
    def damage(results: Path, cell: str) -> Path:
        path = results / "cells" / f"{cell}.json"
        record = json.loads(path.read_text())
        change(record)
        path.write_text(json.dumps(record))
        return path
    return damage


DAMAGE = {  # name -> (damage, what the warning says, whether the cell's row values remain)
    "truncated npz": (_truncate, "are unreadable (BadZipFile", True),
    "short y_pred": (_short, "hold y_pred as int64[23]; expected 24 integers", True),
    "no metrics": (_edit_record(lambda r: r.pop("metrics")), "metrics: Field required", False),
    "no level": (_edit_record(lambda r: r.pop("level")), "level: Field required", False),
    "string accuracy": (_edit_record(lambda r: r["metrics"].update(accuracy="0.7")),
                        "metrics.accuracy: Input should be a valid number (got '0.7')", False),
    "ragged confusion": (_edit_record(lambda r: r["metrics"]["confusion"][0].pop()),
                         "metrics: Value error, confusion is not a square matrix", False),
    "label not text": (_edit_record(lambda r: r["classifier"].update(label=["x"])),
                   "classifier.label: Input should be a valid string", False),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_each_damaged_record_is_skipped_with_one_warning_by_every_reader(run, tmp_path, case):
    site, results = run
    damaged = copy_of(results, tmp_path / "damaged")
    damage, says, row_stays = DAMAGE[case]
    cell = concat_cell(damaged)
    path = damage(damaged, cell)
    got = readers(site, damaged, results, tmp_path)
    for name, (warned, _) in got.items():
        assert len(warned) == 1 and str(path) in warned[0] and says in warned[0], (name, warned)
    rows = board(got["export"][1])
    concat = rows[rows["fusion"] == "concat"]
    assert int(concat["n"].iloc[0]) == (2 if row_stays else 1)
    assert len(rows) == 3  # every row is still there


def test_a_folder_with_no_usable_record_says_so_in_one_line(run, tmp_path):
    site, results = run
    failed = copy_of(results, tmp_path / "failed")
    for path in (failed / "cells").glob("*.json"):  # every cell failed
        record = json.loads(path.read_text())
        for key in ("metrics", "level", "predictions_sha256"):
            record.pop(key, None)
        path.write_text(json.dumps({**record, "status": "failed", "error": "ValueError: x"}))
    broken = copy_of(results, tmp_path / "broken")
    for path in (broken / "cells").glob("*.json"):
        path.write_text(path.read_text()[:100])
    for folder, says in ((failed, "all 6 recorded cell(s) failed"),
                         (broken, "all 6 file(s) there were skipped")):
        for args in (["leaderboard", folder], ["report", folder, "-o", tmp_path / "x.html"],
                     ["export", folder, "--format", "markdown"], ["compare", folder, results]):
            done = mmbench(site, *args)
            errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
            assert done.returncode == 2 and len(errors) == 1, (args, done.stderr)
            assert f"no usable result record in {folder / 'cells'}: {says}" in errors[0]
            assert "Traceback" not in done.stderr
