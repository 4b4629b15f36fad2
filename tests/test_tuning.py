"""Honest numbers: tuned cells recomputed with plain scikit-learn (GridSearchCV on the same
inner folds, then refit), ``select = "validation"`` and its optimism, calibrated late fusion,
and the proper scores recomputed from stored predictions."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from mmbench.cache import FeatureCache
from mmbench.cli import main
from mmbench.featurize import FeatureProvider
from mmbench.leaderboard import load_summary
from mmbench.plan import Variant
from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite
from mmbench.tuning import InnerSplit
from mmbench_fusion.decision import LateMean
from mmbench_sklearn.classifiers import LogReg

DATASETS = {  # (dataset table, HOG cell size for its image size)
    "synthetic": ('name = "synthetic"\nparams = { n = 240, n_classes = 4 }', 4),
    "cifar10": ('name = "cifar10"\nparams = { per_class = 24 }', 8),
}
C_GRID = [0.001, 0.01, 0.1, 1.0, 10.0]
TIGHT = {"tol": 1e-8, "max_iter": 3000}  # logreg fitted (warm or cold) to its optimum


def suite_text(tmp: Path, dataset: str, body: str) -> str:
    return f"""name = "tuning-{dataset}"
results_dir = "{tmp / 'results'}"
cache_dir = "{tmp / 'cache'}"
device = "cpu"
seeds = [0, 1]
inner = {{ method = "kfold", k = 3 }}

[[datasets]]
{DATASETS[dataset][0]}
split = {{ method = "stratified", test_size = 0.25 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = {DATASETS[dataset][1]} }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 128, min_df = 1 }}
{body}
"""


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dataset: str, body: str) -> Any:
    if dataset == "cifar10" and not os.environ.get("MMBENCH_DATA_DIR"):
        pytest.skip("MMBENCH_DATA_DIR is not set (the shared CIFAR-10 copy)")
    if not os.environ.get("MMBENCH_CACHE_DIR"):
        monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "suite.toml"
    path.write_text(suite_text(tmp_path, dataset, body))
    summary = run_suite(path, Console(file=io.StringIO()), catalog=get_catalog())
    assert not summary.failed and summary.ran
    return ResultStore(summary.results_dir)


def cell_views(tmp_path: Path, record: dict[str, Any], store: ResultStore) -> tuple[
        dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray, dict[str, Any]]:
    """(modality -> (train, test) features read back from the run's cache, y_train, y_test,
    stored predictions) of a record."""
    catalog = get_catalog()
    ds = record["dataset"]
    data = catalog["dataset"].get(ds["name"]).cls(**ds["params"]).load()
    stored = store.predictions(record["cell_id"])
    test = stored["test_index"]
    train = np.setdiff1d(np.arange(len(data)), test)
    provider = FeatureProvider(FeatureCache(tmp_path / "cache" / "features"), catalog, {})
    views = {m: provider.features(Variant.of("featurizer", f["name"], f["params"]), data,
                                  train, test)
             for m, f in record["featurizers"].items()}
    assert provider.computed == 0, "features were not found in the run's cache"
    return views, data.y[train], data.y[test], stored


def near_ties(x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray,
               params: dict[str, Any], seed: int) -> int:
    """Validation samples whose two most probable classes a cold fit with ``params`` leaves
    within 1e-3 of each other: the only ones a warm-started fit (which stops at another point
    within the solver's tolerance of the same optimum) may classify differently."""
    proba = LogReg(random_state=seed, **TIGHT, **params).fit(x_fit, y_fit).predict_proba(x_val)
    top = np.sort(proba, axis=1)[:, -2:]
    return int(np.sum(top[:, 1] - top[:, 0] < 1e-3))


@pytest.mark.parametrize("dataset", ["synthetic", "cifar10"])
def test_tuned_cell_is_grid_search_on_the_inner_folds_then_refit(
        dataset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each unimodal cell's fold scores, chosen (C, standardize) and test probabilities are
    those of GridSearchCV over the same grid on the same inner folds (StratifiedKFold(3),
    shuffled by the seed, on the training split), refitted on the whole training split: the
    warm starts of the search along C change nothing but the samples a cold fit leaves on a
    near-tie (zero TF-IDF vectors, near-chance HOG), counted here, never more."""
    store = run(tmp_path, monkeypatch, dataset, f"""
[[classifiers]]
name = "logreg"
params = {{ tol = {TIGHT["tol"]}, max_iter = {TIGHT["max_iter"]} }}
tune = {{ C = {C_GRID}, standardize = [true, false] }}
""")
    records = [r for r in store.records() if r["level"] == "unimodal"]
    assert len(records) == 4  # 2 modalities x 2 seeds
    for record in records:
        views, y_tr, y_te, stored = cell_views(tmp_path, record, store)
        (m,) = record["featurizers"]
        x_tr, x_te = views[m]
        seed = record["seed"]
        folds = list(StratifiedKFold(3, shuffle=True, random_state=seed).split(x_tr, y_tr))
        search = GridSearchCV(LogReg(random_state=seed, **TIGHT),
                              {"C": C_GRID, "standardize": [True, False]},
                              cv=folds, scoring="accuracy").fit(x_tr, y_tr)
        tuning = record["tuning"]
        assert [s["classifier"] for s in tuning["scores"]] == search.cv_results_["params"]
        stored_folds = np.array([s["folds"] for s in tuning["scores"]])
        cold = np.array([search.cv_results_[f"split{j}_test_score"] for j in range(3)]).T
        slack = np.array([[near_ties(x_tr[f], y_tr[f], x_tr[v], params, seed) / len(v)
                           for f, v in folds] for params in search.cv_results_["params"]])
        assert np.all(np.abs(stored_folds - cold) <= slack + 1e-12), (stored_folds, cold, slack)
        np.testing.assert_allclose([s["mean"] for s in tuning["scores"]],
                                   stored_folds.mean(axis=1), atol=1e-12)
        # the chosen candidate is GridSearchCV's, or one the near-ties make indistinguishable
        chosen = tuning["chosen"]["classifier"]
        i = search.cv_results_["params"].index(chosen)
        best = search.cv_results_["mean_test_score"].argmax()
        assert tuning["chosen"]["fusion"] == {} and (chosen == search.best_params_ or (
            cold[best].mean() - cold[i].mean() <= slack[best].mean() + slack[i].mean())), m
        refit = LogReg(random_state=seed, **TIGHT, **chosen).fit(x_tr, y_tr)
        proba = refit.predict_proba(x_te)
        np.testing.assert_array_equal(stored["y_pred"], proba.argmax(axis=1))
        np.testing.assert_allclose(stored["proba"], proba, atol=1e-6)
        assert tuning["fits"]["fitted"] == len(C_GRID) * 2 * 3  # one per candidate and fold

    # the leaderboard shows the chosen values, per row over its seeds
    out = io.StringIO()
    from mmbench.leaderboard import print_leaderboard

    print_leaderboard(store.root, Console(file=out, width=250), columns="accuracy,tuned")
    chosen = [r["tuning"]["chosen"]["classifier"] for r in records]
    assert f"C={chosen[0]['C']:g}" in out.getvalue() and "tuned (inner split)" in out.getvalue()


def test_select_chooses_alpha_on_the_inner_split_and_shows_the_optimism(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``select = "validation"``: one late-weighted row; its alpha is the one whose weighted
    probabilities score best on the inner folds (recomputed by hand), and ``optimism`` is the
    best alpha read off the test split (refitted on the whole training split) minus it."""
    alphas = [0.1, 0.5, 0.9]
    store = run(tmp_path, monkeypatch, "synthetic", f"""
[[fusions]]
name = "late-weighted"
params = {{ alpha = {alphas} }}
select = "validation"

[[classifiers]]
name = "logreg"
params = {{ C = 0.05 }}
""")
    records = [r for r in store.records() if r["fusion"]["name"] == "late-weighted"]
    assert len(records) == 2  # one per seed, not one per alpha
    test_scores = {a: [] for a in alphas}
    selected = []
    for record in records:
        views, y_tr, y_te, stored = cell_views(tmp_path, record, store)
        seed = record["seed"]
        clf = lambda: LogReg(C=0.05, random_state=seed)  # noqa: E731
        inner = np.zeros(len(alphas))
        for fit, val in StratifiedKFold(3, shuffle=True, random_state=seed).split(
                views["image"][0], y_tr):
            p = {m: clf().fit(v[0][fit], y_tr[fit]).predict_proba(v[0][val])
                 for m, v in views.items()}
            for i, a in enumerate(alphas):
                inner[i] += np.mean((a * p["image"] + (1 - a) * p["text"]).argmax(1)
                                    == y_tr[val]) / 3
        best = alphas[int(np.flatnonzero(inner == inner.max())[0])]
        assert record["tuning"]["chosen"]["fusion"] == {"alpha": best}
        p = {m: clf().fit(v[0], y_tr).predict_proba(v[1]) for m, v in views.items()}
        for a in alphas:
            test_scores[a].append(np.mean((a * p["image"] + (1 - a) * p["text"]).argmax(1)
                                          == y_te))
        np.testing.assert_array_equal(
            stored["y_pred"], (best * p["image"] + (1 - best) * p["text"]).argmax(1))
        selected.append(np.mean(stored["y_pred"] == y_te))
    summary, _ = load_summary(store.root)
    row = summary[summary["fusion"] == "late-weighted(selected: alpha)"].iloc[0]
    oracle = max(np.mean(v) for v in test_scores.values())
    assert row["oracle"] == pytest.approx(oracle)
    assert row["optimism"] == pytest.approx(oracle - np.mean(selected))
    assert row["optimism"] >= 0


def test_temperature_calibration_keeps_each_modality_argmax(tmp_path: Path) -> None:
    """Calibrated late-mean: each modality's classifier is CalibratedClassifierCV(ensemble=False)
    on the inner folds (held-out predictions only), the same as scikit-learn's own; under
    temperature scaling its top class never changes."""
    rng = np.random.default_rng(0)
    y = np.arange(300) % 4
    views = {m: (rng.normal(0, 1, (300, d)) + np.eye(4, d)[y] * s).astype(np.float32)
             for m, d, s in (("image", 12, 1.5), ("text", 6, 0.8))}
    inner = InnerSplit({"method": "kfold", "k": 3, "fraction": 0.2}, seed=3)
    fusion = LateMean(calibrate="temperature", inner_cv=inner).fit(
        views, y, lambda: LogReg(C=10.0, standardize=False))
    folds = list(StratifiedKFold(3, shuffle=True, random_state=3).split(views["image"], y))
    for m, calibrated in fusion.clfs_.items():
        own = CalibratedClassifierCV(LogReg(C=10.0, standardize=False), method="temperature",
                                     cv=folds, ensemble=False).fit(views[m], y)
        np.testing.assert_allclose(calibrated.predict_proba(views[m]),
                                   own.predict_proba(views[m]), atol=1e-9)
        base = calibrated.calibrated_classifiers_[0].estimator  # refitted on every row
        raw = base.predict_proba(views[m])
        assert not np.allclose(raw, calibrated.predict_proba(views[m]))  # it did calibrate
        np.testing.assert_array_equal(calibrated.predict_proba(views[m]).argmax(1),
                                      raw.argmax(1))


def test_grouped_inner_split_keeps_groups_together() -> None:
    y = np.arange(120) % 3
    groups = np.arange(120) // 4
    for spec in ({"method": "kfold", "k": 3}, {"method": "validation", "fraction": 0.25}):
        for fit, val in InnerSplit(spec, seed=0, groups=groups).split(None, y):
            assert not set(groups[fit]) & set(groups[val]), spec


def reference_scores(y: np.ndarray, proba: np.ndarray) -> tuple[float, float, float]:
    """Log loss, Brier and 15-bin ECE, written out with numpy/scipy."""
    from scipy.special import xlogy

    p = proba.astype(np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    n, k = p.shape
    eps = np.finfo(np.float64).eps
    clipped = np.clip(p, eps, 1 - eps)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    log_loss = -np.sum(xlogy(np.eye(k)[y], clipped)) / n
    brier = np.mean(((p - np.eye(k)[y]) ** 2).sum(axis=1))
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    edges = np.linspace(0, 1, 16)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):  # (lo, hi]; a confidence of 0 joins bin 1
        inside = (conf > lo) & (conf <= hi) | ((lo == 0) & (conf == 0))
        if inside.any():
            ece += inside.sum() / n * abs(np.mean(pred[inside] == y[inside])
                                          - conf[inside].mean())
    return float(log_loss), float(brier), float(ece)


def test_proper_scores_recomputed_from_stored_predictions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = run(tmp_path, monkeypatch, "synthetic", """
[[fusions]]
name = "late-mean"
params = { calibrate = ["none", "temperature"] }

[[classifiers]]
name = "logreg"
params = { C = 0.5 }
""")
    records = list(store.records())
    assert len(records) == 8
    for record in records:
        stored = store.predictions(record["cell_id"])
        got = record["metrics"]
        want = reference_scores(stored["y_true"], stored["proba"])
        np.testing.assert_allclose([got["log_loss"], got["brier"], got["ece"]], want,
                                   rtol=1e-9, atol=1e-12)
        assert sum(got["reliability"]["count"]) == len(stored["y_true"])
    summary, _ = load_summary(store.root)  # a row: the mean over its cells
    calibrated = [r["metrics"] for r in records
                  if r["fusion"]["label"] == "late-mean(calibrate='temperature')"]
    row = summary[summary["fusion"] == "late-mean(calibrate='temperature')"].iloc[0]
    for col in ("log_loss", "brier", "ece"):
        assert row[col] == pytest.approx(np.mean([m[col] for m in calibrated]))
    out = tmp_path / "board.csv"
    assert main(["export", str(store.root), "--format", "csv", "-o", str(out)]) == 0
    exported = pd.read_csv(out)
    assert {"log_loss", "brier", "ece"} <= set(exported.columns)

    # the report draws one reliability diagram per row, titled with its pooled ECE
    import base64
    import re

    from mmbench.report.html import write_report

    html = write_report(store.root, tmp_path / "report.html").read_text()
    section = html.split('<section id="calibration">', 1)[1].split("</section>", 1)[0]
    svgs = [base64.b64decode(s).decode() for s in
            re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", section)]
    titles = re.findall(r"ECE (\d\.\d{3})", "".join(svgs))
    assert len(titles) == len(summary) == 4
    pooled: dict[str, list[dict[str, np.ndarray]]] = {}
    for record in records:
        pooled.setdefault(record["fusion"]["label"], []).append(
            store.predictions(record["cell_id"]))
    want = [reference_scores(np.concatenate([p["y_true"] for p in preds]),
                             np.concatenate([p["proba"] for p in preds]))[2]
            for preds in pooled.values()]
    assert sorted(titles) == sorted(f"{e:.3f}" for e in want)


def test_two_entries_of_one_fusion_keep_their_own_only(write_suite: Any) -> None:
    """A calibrated late-mean restricted to one featurizer pair leaves the plain late-mean on
    every pair (``only`` belongs to its entry, not to every entry of the plugin)."""
    from mmbench.plan import plan_suite
    from mmbench.suite import load_suite

    path = write_suite("""
    name = "two-entries"
    [[datasets]]
    name = "synthetic"
    [[featurizers]]
    name = "hog-color"
    [[featurizers]]
    name = "pixels"
    [[featurizers]]
    name = "tfidf"
    [[fusions]]
    name = "late-mean"
    [[fusions]]
    name = "late-mean"
    params = { calibrate = "temperature" }
    only = { featurizers = ["hog-color", "tfidf"] }
    [[classifiers]]
    name = "logreg"
    [[classifiers]]
    name = "logreg"
    params = { C = 0.1 }
    only = { fusions = ["unimodal"] }
    """)
    cells = plan_suite(load_suite(path), get_catalog()).cells
    late = [(c.fusion.label, c.classifier.label) for c in cells if c.level == "decision"]
    assert late.count(("late-mean", "logreg")) == 2  # hog + tfidf and pixels + tfidf
    assert late == [("late-mean", "logreg")] * 2 + [
        ("late-mean(calibrate='temperature')", "logreg")]
    assert sum(c.classifier.label == "logreg(C=0.1)" for c in cells) == 3  # the baselines


def test_late_fusion_reuses_its_unimodal_cells_inner_fits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cells of one split run in one process share their classifier fits: a tuned late-mean's
    inner fits are exactly its two unimodal cells' (same rows, labels, params), so it runs none
    of its own; its choice and predictions are those it makes with nothing shared."""
    from mmbench import tuning

    body = """
[[fusions]]
name = "late-mean"

[[classifiers]]
name = "logreg"
tune = { C = [0.01, 0.1, 1.0] }
"""
    store = run(tmp_path, monkeypatch, "synthetic", body)
    late = [r for r in store.records() if r["fusion"]["name"] == "late-mean"]
    assert len(late) == 2
    for record in late:
        fits = record["tuning"]["fits"]
        assert fits["fitted"] == 0 and fits["shared"] == 3 * 3 * 2, fits
    tuning._FITS.clear()
    monkeypatch.setattr(tuning, "KEPT_FITS", 0)  # nothing kept: every fit its own
    again = tmp_path / "again"
    again.mkdir()
    other = run(again, monkeypatch, "synthetic", body)
    by_seed = {r["seed"]: r for r in other.records() if r["fusion"]["name"] == "late-mean"}
    for record in late:
        twin = by_seed[record["seed"]]
        assert twin["tuning"]["fits"]["fitted"] == 3 * 3 * 2
        assert twin["tuning"]["chosen"] == record["tuning"]["chosen"]
        np.testing.assert_array_equal(other.predictions(twin["cell_id"])["proba"],
                                      store.predictions(record["cell_id"])["proba"])
