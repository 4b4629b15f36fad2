"""End-to-end runs: records, only-missing re-runs, the feature cache, failures, recomputation."""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import mmbench
from mmbench.cli import main
from mmbench.errors import UserError
from mmbench.runner import CellFailed, run_suite
from mmbench.testing import registered

from conftest import SMOKE


def quiet() -> Console:
    return Console(file=open(os.devnull, "w"), width=200)


def records(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((results / "cells").glob("*.json"))]


def test_run_records_every_cell_then_reruns_only_missing(smoke_suite, tmp_path):
    first = run_suite(smoke_suite, quiet())
    assert (first.planned, first.ran, first.skipped, first.failed) == (8, 8, 0, [])
    # hog once for all samples; tfidf fitted per split (train + test) x 2 seeds
    assert first.features_computed == 1 + 4
    recs = records(first.results_dir)
    assert len(recs) == 8 and all(r["status"] == "ok" for r in recs)
    r = recs[0]
    for key in ("suite_sha256", "git_sha", "time", "seed", "n_train", "n_test"):
        assert key in r
    assert {"accuracy", "macro_recall", "macro_f1"} <= set(r["metrics"])
    assert r["classifier"]["version"].startswith("mmbench ")
    pred = np.load(first.results_dir / "predictions" / f"{r['cell_id']}.npz")
    assert np.isclose(np.mean(pred["y_true"] == pred["y_pred"]), r["metrics"]["accuracy"])

    again = run_suite(smoke_suite, quiet())
    assert (again.ran, again.skipped, again.features_computed) == (0, 8, 0)
    forced = run_suite(smoke_suite, quiet(), rerun=True)
    assert (forced.ran, forced.features_computed) == (8, 0)
    assert [x["metrics"] for x in records(first.results_dir)] == [x["metrics"] for x in recs]


def test_corrupt_cache_entry_is_recomputed(smoke_suite, tmp_path):
    run_suite(smoke_suite, quiet())
    npys = sorted((tmp_path / "cache" / "features").rglob("*.npy"))
    assert npys
    with open(npys[0], "r+b") as fh:
        fh.seek(-8, 2)
        fh.write(b"\x00garbage")
    with pytest.warns(UserWarning, match="corrupt"):
        summary = run_suite(smoke_suite, quiet(), rerun=True)
    assert summary.features_computed == 1 and not summary.failed


class Exploding:
    """A classifier that fails in fit (only for the fusion that uses the text view)."""

    def __init__(self, *, when_dim_below: int = 100) -> None:
        self.when_dim_below = when_dim_below

    def get_params(self, deep=True):
        return {"when_dim_below": self.when_dim_below}

    def fit(self, X, y):
        if X.shape[1] < self.when_dim_below:
            raise RuntimeError("exploded in fit")
        from sklearn.linear_model import LogisticRegression

        self.m = LogisticRegression(max_iter=200).fit(X, y)
        self.classes_ = self.m.classes_
        return self

    def predict_proba(self, X):
        return self.m.predict_proba(X)


EXPLODING = types.SimpleNamespace(
    mmbench_register_classifiers=mmbench.hookimpl(lambda register: register(Exploding, "exploding"))
)


def test_failing_cell_is_recorded_and_the_run_goes_on(write_suite, capsys):
    suite = write_suite(SMOKE.replace('name = "logreg"', 'name = "exploding"'))
    with registered(EXPLODING, "exploding-plugin"):
        summary = run_suite(suite, quiet())
        # each view alone has < 100 dims (hog 60, tfidf 64): only concat (124) succeeds
        failed = [r for r in records(summary.results_dir) if r["status"] == "failed"]
        assert len(failed) == len(summary.failed) == 6
        assert all("RuntimeError: exploded in fit" in r["error"] for r in failed)
        assert all("Traceback" in r["traceback"] for r in failed)
        assert summary.ran == 2
        # a failed cell is recorded: not retried by default, retried with rerun_failed
        again = run_suite(suite, quiet())
        assert (again.skipped, again.kept_failed, again.ran, again.failed) == (8, 6, 0, [])
        retried = run_suite(suite, quiet(), rerun_failed=True)
        assert (retried.skipped, retried.ran, len(retried.failed)) == (2, 0, 6)
        with pytest.raises(CellFailed, match="exploded in fit"):
            run_suite(suite, quiet(), rerun=True, fail_fast=True)
        assert main(["run", str(suite)]) == 1  # recorded failures still fail the command
        kept = capsys.readouterr().out
        assert "8 already recorded (6 of them failed: not retried, --rerun-failed retries " \
               "them), 0 run, 0 failed" in kept, kept
        assert main(["run", str(suite), "--rerun-failed"]) == 1
    out = capsys.readouterr()
    assert "6 run, 6 failed" in out.out  # what ran: the six failed cells, again
    assert "failed:" in out.out and "Traceback" not in out.out + out.err


def test_missing_data_folder_is_one_clear_line(write_suite, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MMBENCH_DATA_DIR", raising=False)
    suite = write_suite(f"""
        name = "nodata"
        [[datasets]]
        name = "cifar10"
        params = {{ data_dir = "{tmp_path / 'nowhere'}", download = false }}
        [[featurizers]]
        name = "pixels"
        [[classifiers]]
        name = "logreg"
    """)
    assert main(["run", str(suite)]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "MMBENCH_DATA_DIR" in err and "Traceback" not in err
    assert not list((tmp_path / "results").rglob("cells/*.json"))


@pytest.mark.skipif(not os.environ.get("MMBENCH_DATA_DIR"), reason="MMBENCH_DATA_DIR not set")
def test_unimodal_numbers_agree_with_plain_scikit_learn(write_suite):
    """Image-only and text-only rows on real CIFAR-10, recomputed independently."""
    from skimage.color import rgb2gray
    from skimage.feature import hog
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mmbench_cifar10 import Cifar10

    suite = write_suite("""
        name = "cifar-slice"
        seeds = [3]
        [[datasets]]
        name = "cifar10"
        params = { per_class = 30 }
        split = { test_size = 0.25 }
        [[featurizers]]
        name = "hog-color"
        [[featurizers]]
        name = "tfidf"
        params = { max_features = 300, min_df = 1 }
        [[classifiers]]
        name = "logreg"
    """)
    summary = run_suite(suite, quiet())
    stored = {r["fusion"]["params"]["modality"]: r["metrics"]["accuracy"]
              for r in records(summary.results_dir)}

    data = Cifar10(per_class=30).load()
    idx = np.arange(len(data.y))
    tr, te = train_test_split(idx, test_size=0.25, stratify=data.y, random_state=3)
    tr, te = np.sort(tr), np.sort(te)
    imgs = data.modalities["image"]
    feats = []
    for img in imgs:
        h = hog(rgb2gray(img), orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
        col = np.concatenate([np.histogram(img[..., c], bins=8, range=(0, 256))[0]
                              for c in range(3)]) / 1024
        feats.append(np.concatenate([h, col]))
    X = np.asarray(feats, dtype=np.float32)

    def acc(Xtr, Xte):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, random_state=3))
        return float(np.mean(clf.fit(Xtr, data.y[tr]).predict(Xte) == data.y[te]))

    texts = np.array(data.modalities["text"], dtype=object)
    vec = TfidfVectorizer(max_features=300, ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    Ttr = vec.fit_transform(texts[tr]).toarray()
    Tte = vec.transform(texts[te]).toarray()
    assert stored["image"] == pytest.approx(acc(X[tr], X[te]), abs=1e-9)
    assert stored["text"] == pytest.approx(acc(Ttr, Tte), abs=1e-9)
    assert stored["text"] > 0.3 and stored["image"] > 0.15  # both well above chance (0.1)


def test_bad_dataset_param_is_a_user_error():
    from mmbench_cifar10 import Cifar10

    with pytest.raises(UserError, match="caption"):
        Cifar10(caption="title")
