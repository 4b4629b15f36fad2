"""Trustworthy evaluation end to end: stored intervals and significance recomputed independently
from predictions/<id>.npz, robustness curves, imbalance, cost columns, missing modalities."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from scipy.stats import binomtest, bootstrap

from mmbench.cli import main
from mmbench.leaderboard import cells_frame, load_summary
from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite
from mmbench.splits import imbalance_train
from mmbench.testing import tiny_data

SUITE = """
name = "{name}"
seeds = [0, 1]
results_dir = "{root}/results"
cache_dir = "{root}/cache"
{extra}

[[datasets]]
name = "synthetic"
params = {{ n = 240, n_classes = 3 }}
split = {{ method = "stratified", test_size = 0.4 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}

[[fusions]]
name = "concat"

[[fusions]]
name = "late-mean"

[[classifiers]]
name = "logreg"
"""
ROBUSTNESS = """
[robustness]
text_missing = [0.0, 0.5, 1.0]
text_swap = [0.5]
image_noise = [60.0]
"""


def run(root: Path, name: str, extra: str = "", **options: Any) -> Any:
    path = root / f"{name}.toml"
    path.write_text(SUITE.format(name=name, root=root, extra=extra))
    return run_suite(path, Console(file=io.StringIO()), **options)


@pytest.fixture(scope="module")
def robust_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    root = tmp_path_factory.mktemp("robust")
    summary = run(root, "robust", ROBUSTNESS)
    assert not summary.failed, summary.failed
    return root, summary


def records(results: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((results / "cells").glob("*.json"))]


def find(recs: list[dict[str, Any]], fusion: str, seed: int, modality: str | None = None
         ) -> dict[str, Any]:
    (hit,) = [r for r in recs if r["fusion"]["name"] == fusion and r["seed"] == seed
              and (modality is None or r["fusion"]["params"].get("modality") == modality)]
    return hit


def test_statistics_recomputed_from_stored_predictions(robust_run: tuple[Path, Any]) -> None:
    root, summary = robust_run
    results = summary.results_dir
    store = ResultStore(results)
    recs = records(results)
    # 1. per-cell interval: scipy's percentile bootstrap over (true, predicted) pairs
    for r in recs:
        pred = store.predictions(r["cell_id"])
        ci = r["metrics"]["ci"]
        res = bootstrap((pred["y_true"], pred["y_pred"]),
                        lambda t, p, axis=-1: np.mean(t == p, axis=axis), paired=True,
                        vectorized=True, confidence_level=ci["confidence"],
                        n_resamples=ci["n_resamples"], method="percentile",
                        random_state=np.random.default_rng(ci["seed"]))
        np.testing.assert_allclose(ci["accuracy"], res.confidence_interval, atol=1e-12)
        assert np.mean(pred["y_true"] == pred["y_pred"]) == pytest.approx(
            r["metrics"]["accuracy"])
    # 2. per-row p: McNemar exact on discordant pairs summed over seeds, against the best
    #    unimodal cell (by accuracy) of the same seed; Holm over the fusion rows
    board, metric = load_summary(results)
    assert metric == "accuracy"
    expected = {}
    for fusion in ("concat", "late-mean"):
        b = c = 0
        for seed in (0, 1):
            f = find(recs, fusion, seed)
            ref = max((find(recs, "unimodal", seed, m) for m in ("image", "text")),
                      key=lambda u: u["metrics"]["accuracy"])
            pf, pr = store.predictions(f["cell_id"]), store.predictions(ref["cell_id"])
            assert np.array_equal(pf["test_index"], pr["test_index"])
            right_f, right_r = pf["y_pred"] == pf["y_true"], pr["y_pred"] == pr["y_true"]
            b += int(np.sum(right_f & ~right_r))
            c += int(np.sum(~right_f & right_r))
        expected[fusion] = binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    rows = board.set_index("fusion")
    ps = sorted(expected.values())
    holm = {f: min(1.0, max(2 * ps[0], ps[1]) if p == ps[1] else 2 * ps[0])
            for f, p in expected.items()}
    for fusion, p in expected.items():
        assert rows.loc[fusion, "p_value"] == pytest.approx(p)
        assert rows.loc[fusion, "p_holm"] == pytest.approx(holm[fusion])
        assert rows.loc[fusion, "significant"] == (holm[fusion] < 0.05)
        assert rows.loc[fusion, "gain_ci_low"] <= rows.loc[fusion, "gain"] + 1e-9
        assert rows.loc[fusion, "gain"] <= rows.loc[fusion, "gain_ci_high"] + 1e-9
    # row CI = mean over seeds of the stored per-cell bounds
    concat = [find(recs, "concat", s)["metrics"]["ci"]["accuracy"] for s in (0, 1)]
    assert rows.loc["concat", "accuracy_ci_low"] == pytest.approx(np.mean([c[0] for c in concat]))
    assert rows.loc["concat", "accuracy_ci_high"] == pytest.approx(
        np.mean([c[1] for c in concat]))


def test_dropping_all_text_gives_prior_and_image_only(robust_run: tuple[Path, Any]) -> None:
    root, summary = robust_run
    recs = records(summary.results_dir)
    data = tiny_data(n=240, n_classes=3)
    for seed in (0, 1):
        text = find(recs, "unimodal", seed, "text")
        image = find(recs, "unimodal", seed, "image")
        late = find(recs, "late-mean", seed)
        pred = ResultStore(summary.results_dir).predictions(text["cell_id"])
        train = np.setdiff1d(np.arange(len(data.y)), pred["test_index"])
        majority = np.bincount(data.y[train]).argmax()
        chance = float(np.mean(pred["y_true"] == majority))
        curve = text["robustness"]["text_missing"]
        assert curve["levels"] == [0.0, 0.5, 1.0]
        assert curve["accuracy"][0] == text["metrics"]["accuracy"]
        assert curve["accuracy"][-1] == pytest.approx(chance)
        assert curve["accuracy"][-1] < text["metrics"]["accuracy"]
        assert late["robustness"]["text_missing"]["accuracy"][-1] == pytest.approx(
            image["metrics"]["accuracy"])
        # image rows do not depend on text; concat survives missing text
        assert image["robustness"]["text_missing"]["accuracy"] == [image["metrics"]["accuracy"]] * 3
        concat = find(recs, "concat", seed)["robustness"]
        assert "error" not in concat["text_missing"] and "error" not in concat["text_swap"]
        noise = image["robustness"]["image_noise"]
        assert noise["relative"]["accuracy"] == pytest.approx(
            noise["auc"]["accuracy"] / image["metrics"]["accuracy"])
    board, _ = load_summary(summary.results_dir)
    assert {"rob:text_missing", "rob:text_swap", "rob:image_noise"} <= set(board.columns)


def test_corrupted_features_are_cached(robust_run: tuple[Path, Any]) -> None:
    root, summary = robust_run
    # clean: hog (1 matrix) + tfidf (train+test per seed = 4); corrupted per seed:
    # text_swap (tfidf) + image_noise (hog) = 2 -> 4. Missing text needs no featurization.
    assert summary.features_computed == 9
    again = run(root, "robust", ROBUSTNESS, rerun=True)
    assert again.features_computed == 0 and again.ran == summary.ran


def test_imbalance_subsamples_geometrically_and_changes_cells(tmp_path: Path) -> None:
    y = np.repeat(np.arange(5), 100)
    train = np.arange(0, 500, 2)  # 50 per class
    kept = imbalance_train(train, y, ratio=10, seed=3)
    counts = np.bincount(y[kept])
    np.testing.assert_array_equal(counts, np.round(50 * 10 ** (-np.arange(5) / 4)).astype(int))
    assert set(kept) <= set(train)
    assert not np.array_equal(kept, imbalance_train(train, y, ratio=10, seed=4))
    summary = run(tmp_path, "imb", "imbalance = { ratio = 4 }")
    recs = records(summary.results_dir)
    for r in recs:
        c = r["train_class_counts"]
        assert c[0] > c[1] > c[2] and c[0] == pytest.approx(4 * c[2], rel=0.1)
    plain = {r["cell_id"] for r in records(run(tmp_path, "plain").results_dir)}
    assert plain.isdisjoint(r["cell_id"] for r in recs)
    out = io.StringIO()
    from mmbench.leaderboard import print_leaderboard

    print_leaderboard(summary.results_dir, Console(file=out, width=250))
    assert "macro_recall is the natural headline" in out.getvalue()


def test_cost_columns_and_cli(robust_run: tuple[Path, Any],
                              capsys: pytest.CaptureFixture[str]) -> None:
    root, summary = robust_run
    frame = cells_frame(records(summary.results_dir))
    assert (frame["fit_peak_rss_mb"] >= 0).all() and (frame["fit_s"] > 0).all()
    assert set(frame.loc[frame["fusion"] == "concat", "dims"]) == {"image:60 text:64"}
    assert main(["leaderboard", str(summary.results_dir), "--columns", "accuracy,cost"]) == 0
    out = capsys.readouterr().out
    assert "fit MiB" in out and "image:60 text:64" in out and "macro F1" not in out
    assert main(["leaderboard", str(summary.results_dir), "--columns", "ci,p,robustness"]) == 0
    out = capsys.readouterr().out
    assert "95% CI (accuracy)" in out and "p (Holm)" in out and "robust text_missing" in out
    assert main(["leaderboard", str(summary.results_dir), "--columns", "bogus"]) == 2
    assert "unknown leaderboard column 'bogus'" in capsys.readouterr().err


def fusion_names() -> list[str]:
    return [e.name for e in get_catalog()["fusion"] if e.cls.level != "unimodal"]


@pytest.mark.parametrize("name", fusion_names())
def test_every_fusion_handles_missing_modalities(name: str) -> None:
    from sklearn.linear_model import LogisticRegression

    data = tiny_data(n=90, n_classes=3)
    rng = np.random.default_rng(0)
    views = {"image": data.modalities["image"].reshape(90, -1).astype(np.float32) / 255,
             "text": rng.normal(size=(90, 6)).astype(np.float32) + data.y[:, None]}
    fusion = get_catalog()["fusion"].get(name).cls()
    fusion.fit({m: v[:60] for m, v in views.items()}, data.y[:60],
               lambda: LogisticRegression(max_iter=500))
    for modality in ("text", "image"):
        for share in (0.5, 1.0):
            test = {m: v[60:].copy() for m, v in views.items()}
            test[modality][: int(30 * share)] = np.nan
            proba = np.asarray(fusion.predict_proba(test))
            assert proba.shape == (30, 3) and np.isfinite(proba).all(), (name, modality, share)
