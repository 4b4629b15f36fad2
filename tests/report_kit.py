"""Result folders for the report tests: a real smoke run, and records built here (alpha
sweeps, robustness curves, an audit) written through the real ResultStore."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mmbench.metrics import compute_metrics
from mmbench.results import ResultStore

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(suite copy, results folder) of the smoke suite run into a temporary folder."""
    from rich.console import Console

    from mmbench.runner import run_suite

    tmp = tmp_path_factory.mktemp("smoke")
    text = (REPO / "suites" / "smoke.toml").read_text()
    text = re.sub(r'^(name = "smoke")$', rf'\1\nresults_dir = "{tmp / "results"}"\n'
                  rf'cache_dir = "{tmp / "cache"}"', text, count=1, flags=re.M)
    suite = tmp / "smoke.toml"
    suite.write_text(text)
    summary = run_suite(suite, Console(quiet=True), live=False)
    assert summary.ran == summary.planned and not summary.failed
    return suite, summary.results_dir


CLASSES = ["cat", "dog", "ship"]
FEATS = {"image": "hog-color", "text": "tfidf"}


def _variant(name: str, params: dict | None = None) -> dict:
    params = params or {}
    inner = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {"name": name, "params": params, "label": f"{name}({inner})" if inner else name,
            "plugin": "test", "version": "test 0"}


def write_cell(store: ResultStore, cell_id: str, fusion: dict, level: str,
               modalities: list[str], seed: int, accuracy: float, n: int = 90,
               extra: dict | None = None) -> None:
    """One ok cell whose predictions are right on about ``accuracy`` of ``n`` samples."""
    rng = np.random.default_rng([seed, sum(map(ord, cell_id))])
    y_true = np.arange(n) % len(CLASSES)
    wrong = rng.random(n) > accuracy
    y_pred = np.where(wrong, (y_true + 1) % len(CLASSES), y_true)
    record = {
        "cell_id": cell_id, "status": "ok", "suite": "built", "seed": seed, "fold": 0,
        "dataset": _variant("toy"), "dataset_fingerprint": "fp", "class_names": CLASSES,
        "featurizers": {m: _variant(FEATS[m]) for m in modalities}, "fusion": fusion,
        "level": level, "classifier": _variant("logreg", {"C": 1.0}),
        "metrics": compute_metrics(y_true, y_pred, len(CLASSES)),
        "timings": {"fit_s": 0.1, "predict_s": 0.01}, **(extra or {}),
    }
    proba = np.eye(len(CLASSES), dtype=np.float32)[y_pred]
    store.write(record, y_true=y_true, y_pred=y_pred, proba=proba, test_index=np.arange(n))


def build_results(root: Path, with_extras: bool = True) -> Path:
    """A results folder: unimodal image/text, concat, and late-weighted swept over alpha, three
    seeds each; with robustness curves on concat and an ``audit.json`` when ``with_extras``."""
    store = ResultStore(root)
    for seed in range(3):
        write_cell(store, f"img{seed}", _variant("unimodal", {"modality": "image"}),
                   "unimodal", ["image"], seed, 0.70)
        write_cell(store, f"txt{seed}", _variant("unimodal", {"modality": "text"}),
                   "unimodal", ["text"], seed, 0.50)
        robust = {"robustness": {"curves": {
            "gaussian_noise": {"0.0": 0.8, "0.5": 0.6 - 0.01 * seed, "1.0": 0.4},
            "drop_text": {"0.0": 0.8, "1.0": 0.7}}, "auc": {"gaussian_noise": 0.6,
                                                           "drop_text": 0.75}}}
        write_cell(store, f"cat{seed}", _variant("concat"), "feature", ["image", "text"], seed,
                   0.85, extra=robust if with_extras else None)
        for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
            acc = 0.5 + 0.2 * alpha + 0.3 * alpha * (1 - alpha)
            write_cell(store, f"lw{alpha}-{seed}", _variant("late-weighted", {"alpha": alpha}),
                       "decision", ["image", "text"], seed, acc)
    store.write_manifest({"suite": "built", "suite_text": 'name = "built"\nheadline = '
                          '"accuracy"\ndescription = "records built by the test"\n',
                          "plugins": {"test": "test 0"}, "git_sha": "abc123",
                          "machine": {"host": "testhost", "cpus": 2}, "cells_planned": 30})
    if with_extras:
        (root / "audit.json").write_text(json.dumps(
            {"caption_only_accuracy": 0.97, "chance": 0.33, "verdict": "captions leak"}))
    return root
