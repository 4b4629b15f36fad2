"""Crash safety: ``mmbench run`` killed with SIGKILL at random moments leaves only whole records,
a resumed run finishes the rest, and the result equals an uninterrupted run's; strays of an
interrupted write are cleaned up or redone; a truncated or tampered feature cache is recomputed."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from mmbench.cache import FeatureCache
from mmbench.results import ResultStore
from mmbench.runner import LOCK_FILE, run_suite

from conftest import SMOKE

# 24 cells of ~0.1-0.3 s each: a kill a fraction of a second after a cell is recorded lands
# while the next ones run (or while a split's features are computed and cached)
KILLED = """
name = "killed"
seeds = [0, 1]
[[datasets]]
name = "synthetic"
params = { n = 900, n_classes = 4 }
[[featurizers]]
name = "hog-color"
params = { pixels_per_cell = 4 }
[[featurizers]]
name = "tfidf"
params = { max_features = 128, min_df = 1 }
[[fusions]]
name = "concat"
[[fusions]]
name = "late-mean"
[[classifiers]]
name = "logreg"
params = { C = [0.1, 1.0, 10.0] }
"""
PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def quiet() -> Console:
    return Console(file=open(os.devnull, "w"), width=200)  # noqa: SIM115


def suite_in(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suite.toml"
    path.write_text(f'results_dir = "{folder / "results"}"\ncache_dir = "{folder / "cache"}"\n'
                    + body.strip() + "\n")
    return path


def cli(suite: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mmbench.cli", "run", str(suite), *args],
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **PINNED})


def check_whole(store: ResultStore) -> dict[str, dict]:
    """Every record present is whole: it parses, names its cell, its predictions match its
    checksum and its metrics; nothing else is left in the folder. Returns records by id."""
    recs = {}
    for path in sorted(store.cells_dir.glob("*.json")):
        rec = json.loads(path.read_text())
        assert rec["cell_id"] == path.stem and rec["status"] == "ok", path
        assert rec["cell_id"] not in recs
        blob = store.pred_path(rec["cell_id"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == rec["predictions_sha256"], path
        pred = store.predictions(rec["cell_id"])
        assert pred["y_pred"].shape == pred["y_true"].shape == (rec["n_test"],)
        assert pred["proba"].shape == (rec["n_test"], rec["n_classes"])
        assert np.isclose(np.mean(pred["y_pred"] == pred["y_true"]), rec["metrics"]["accuracy"])
        recs[rec["cell_id"]] = rec
    return recs


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_sigkill_at_random_moments_loses_nothing_and_records_nothing_twice(
    tmp_path: Path,
) -> None:
    suite = suite_in(tmp_path / "killed", KILLED)
    store = ResultStore(tmp_path / "killed" / "results" / "killed")
    rng = random.Random(9)
    kills, before = 0, 0
    deadline = time.monotonic() + 150
    while kills < 5:
        run = cli(suite)
        try:  # kill a random moment after this run recorded its first cell
            while len(list(store.cells_dir.glob("*.json"))) == before:
                assert run.poll() is None, run.communicate()[0]
                assert time.monotonic() < deadline, "no cell recorded in time"
                time.sleep(0.01)
            # a random moment within the next 0.5 s, but before 3 more cells (on a fast
            # machine), so that cells are left for every kill and the resume
            until = time.monotonic() + rng.uniform(0.0, 0.5)
            while (time.monotonic() < until
                   and len(list(store.cells_dir.glob("*.json"))) < before + 3):
                time.sleep(0.005)
            run.send_signal(signal.SIGKILL)
            run.communicate(timeout=30)
        finally:
            run.kill()
        kills += 1
        recs = check_whole(store)  # after each kill: all whole, a few more than before
        assert len(recs) > before and len(recs) < 24, (kills, len(recs))
        before = len(recs)
    assert (store.root / LOCK_FILE).exists()  # the killed run could not remove it

    final = cli(suite)
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0, out
    assert f"24 cells planned, {before} already recorded, {24 - before} run, 0 failed" in out, out
    assert "note: took over the lock" in out and "ended without releasing it" in out, out
    recs = check_whole(store)
    assert not (store.root / LOCK_FILE).exists()
    assert sorted(p.name for p in store.root.iterdir()) == [
        "audit.json", "cells", "complementarity.json", "manifest.json", "mmbench-store.json",
        "predictions"]
    assert {p.stem for p in store.pred_dir.iterdir()} == set(recs)

    clean = run_suite(suite_in(tmp_path / "clean", KILLED), quiet())
    assert clean.ran == 24 and not clean.failed
    base = check_whole(ResultStore(clean.results_dir))
    assert recs.keys() == base.keys()
    for cid, rec in recs.items():
        assert rec["metrics"] == base[cid]["metrics"], cid


def test_strays_of_an_interrupted_run_are_redone_or_removed(smoke_suite: Path) -> None:
    first = run_suite(smoke_suite, quiet())
    store = ResultStore(first.results_dir)
    before = check_whole(store)
    lost_npz, bad_npz, bad_json = ids = sorted(before)[:3]
    store.pred_path(lost_npz).unlink()  # a record without its predictions
    blob = bytearray(store.pred_path(bad_npz).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    store.pred_path(bad_npz).write_bytes(bytes(blob))  # predictions not the recorded ones
    path = store.record_path(bad_json)
    path.write_bytes(path.read_bytes()[:200])  # half a record (only tampering does this)
    orphan = store.pred_dir / "0123456789abcdef0123.npz"  # predictions whose record never came
    orphan.write_bytes(b"x")
    temps = [store.cells_dir / f".{ids[0]}.json.x1abc_de.tmp",  # what a killed atomic write
             store.pred_dir / f".{ids[1]}.npz.2xyzabcd.tmp",  # leaves (mkstemp's names)
             store.root / ".manifest.json.k3j9x0q1.tmp"]
    for t in temps:
        t.write_bytes(b"half")

    console = Console(record=True, width=200, file=open(os.devnull, "w"))  # noqa: SIM115
    with pytest.warns(UserWarning) as caught:
        again = run_suite(smoke_suite, console)
    messages = " | ".join(str(w.message) for w in caught)
    assert f"cell {lost_npz} counts as not recorded: its predictions" in messages
    assert f"cell {bad_npz} counts as not recorded" in messages and "checksum" in messages
    assert f"skipping unreadable result record {store.record_path(bad_json)}" in messages
    # the orphan, the temp files, and the predictions of the unreadable record
    assert "removed 5 leftover file(s) of an interrupted run" in console.export_text()
    assert (again.ran, again.skipped) == (3, 5)
    assert not orphan.exists() and not any(t.exists() for t in temps)
    after = check_whole(store)
    assert after.keys() == before.keys()
    for cid in ids:
        assert after[cid]["metrics"] == before[cid]["metrics"]


def test_readers_skip_a_record_filed_under_another_cell(smoke_suite: Path) -> None:
    store = ResultStore(run_suite(smoke_suite, quiet()).results_dir)
    cid = sorted(check_whole(store))[0]
    store.record_path(cid).rename(store.cells_dir / "other.json")
    with pytest.warns(UserWarning, match="other.json: it is not the record of cell other"):
        assert cid not in {r["cell_id"] for r in store.records()}


@pytest.mark.parametrize("part", ["npy", "json"])
@pytest.mark.parametrize("how", ["truncated", "tampered"])
def test_damaged_feature_cache_entry_is_a_miss(tmp_path: Path, part: str, how: str) -> None:
    cache = FeatureCache(tmp_path)
    x = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)
    key = cache.key(what="test")
    cache.put(key, x, {"featurizer": "t"})
    np.testing.assert_array_equal(cache.get(key), x)
    path = next(tmp_path.rglob(f"*.{part}"))
    blob = bytearray(path.read_bytes())
    if how == "truncated":
        blob = blob[: len(blob) - 9]
    else:  # same length, one byte changed (in the data, or in the recorded checksum)
        i = len(blob) - 5 if part == "npy" else blob.index(b'"sha256": "') + 12
        blob[i] = ord("0") if blob[i] != ord("0") else ord("1")
    path.write_bytes(bytes(blob))
    with pytest.warns(UserWarning, match="feature cache entry .* is corrupt"):
        assert cache.get(key) is None
    assert key not in cache and not list(tmp_path.rglob(f"{key}.*"))  # deleted: recomputed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.put(key, x)
        np.testing.assert_array_equal(cache.get(key), x)


def test_a_truncated_feature_matrix_is_recomputed_by_the_run(smoke_suite: Path,
                                                             tmp_path: Path) -> None:
    run_suite(smoke_suite, quiet())
    npy = max((tmp_path / "cache" / "features").rglob("*.npy"), key=lambda p: p.stat().st_size)
    with open(npy, "r+b") as fh:
        fh.truncate(npy.stat().st_size // 2)
    with pytest.warns(UserWarning, match="corrupt"):
        summary = run_suite(smoke_suite, quiet(), rerun=True)
    assert summary.features_computed == 1 and not summary.failed


def test_a_write_that_fails_for_space_keeps_the_previous_record(smoke_suite: Path) -> None:
    """A file-size limit (RLIMIT_FSIZE, as a full disk would) stops rewriting a cell's
    predictions: the old record and predictions stay whole and no temp file is left."""
    store = ResultStore(run_suite(smoke_suite, quiet()).results_dir)
    before = check_whole(store)
    cid = sorted(before)[0]
    code = f"""
import resource, signal, sys
import numpy as np
from mmbench.results import ResultStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG) instead of dying
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
rng = np.random.default_rng(0)
try:
    ResultStore({str(store.root)!r}).write({{"cell_id": {cid!r}, "status": "ok"}},
        y_true=np.zeros(10**5, int), y_pred=np.zeros(10**5, int),
        proba=rng.random((10**5, 3)), test_index=np.arange(10**5))
except OSError as exc:
    print("refused:", exc.errno)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == f"refused: {errno.EFBIG}", out.stdout + out.stderr
    assert check_whole(store) == before
    assert not [p for p in store.root.rglob(".*") if p.name.endswith(".tmp")]


def test_ctrl_c_after_a_record_is_in_place_keeps_it(smoke_suite: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the cells folder is synced, after the record was renamed into place: the
    record and its predictions are whole and stay (the cell counts as recorded)."""
    store = ResultStore(run_suite(smoke_suite, quiet()).results_dir)
    before = check_whole(store)
    cid = sorted(before)[0]
    pred = store.predictions(cid)
    import mmbench.cache

    sync = mmbench.cache.fsync_dir

    def interrupted(folder: Path) -> None:
        if folder == store.cells_dir:
            raise KeyboardInterrupt
        sync(folder)

    monkeypatch.setattr(mmbench.cache, "fsync_dir", interrupted)
    record = {**before[cid], "note": "rewritten"}
    record.pop("predictions_sha256")
    with pytest.raises(KeyboardInterrupt):
        store.write(record, **pred)
    monkeypatch.undo()
    after = check_whole(store)
    assert after[cid]["note"] == "rewritten" and cid in store.completed()
    assert set(after) == set(before)


def test_guarantees_in_the_readme_name_tests_that_exist() -> None:
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    named, current = [], None
    for file, test in re.findall(r"`(test_\w+\.py)?::(test_\w+)`", section):
        current = file or current
        named.append((current, test))
    assert len(named) >= 12
    for file, test in named:
        source = (Path(__file__).parent / file).read_text()
        assert re.search(rf"^def {test}\(", source, re.M), f"README names {file}::{test}"
