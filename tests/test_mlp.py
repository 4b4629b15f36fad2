"""The ``mlp`` classifier (torch): scikit-learn's and mmbench's contracts, determinism, early
stopping, a nonlinear problem, devices, threads, pickling, and a run through the CLI."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.exceptions import NotFittedError

from mmbench.cli import main
from mmbench.errors import UserError
from mmbench.plugins import get_catalog
from mmbench.registry import build
from mmbench.testing import check_classifier, check_fusion
from mmbench_sklearn.classifiers import LogReg
from mmbench_torch import mlp as mlp_module
from mmbench_torch.mlp import MLP
from mmbench_torch.training import holdout

SMALL = {"hidden": 32, "random_state": 0}


def blobs(n: int = 300, d: int = 8, k: int = 3, noise: float = 1.0,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(0, noise, (n, d)) + np.eye(k, d)[y] * 3
    return X, y


def xor(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The label is the sign of x0 * x1 (plus four noise features): no linear model can
    beat chance."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 6))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def test_registered_as_mlp_and_passes_mmbench_check_classifier():
    entry = get_catalog()["classifier"].get("mlp")
    assert entry.cls is MLP and entry.distribution == "mmbench"
    check_classifier(MLP)
    check_classifier(MLP(hidden=[16, 8], dropout=0.0, validation_fraction=0.0, lr=1e-2,
                         max_epochs=60))


def test_passes_scikit_learn_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(MLP(), on_fail=None)
    failed = {r["check_name"]: str(r["exception"])[:300] for r in results
              if r["status"] == "failed"}
    assert not failed, failed
    assert sum(r["status"] == "passed" for r in results) >= 50


@pytest.mark.parametrize("fusion", ["concat", "late-product", "stacking"])
def test_serves_as_the_classifier_of_fusions(fusion):
    check_fusion(get_catalog()["fusion"].get(fusion).cls,
                 make_classifier=lambda: MLP(hidden=32, random_state=0))


def test_bad_values_are_refused_when_the_suite_is_validated_not_in_init():
    entry = get_catalog()["classifier"].get("mlp")
    MLP(dropout=1.5, hidden=[64, 0], device="tpu")  # __init__ only stores (sklearn contract)
    for params, word in [({"dropout": 1.5}, "dropout"), ({"hidden": [64, 0]}, "hidden"),
                         ({"hidden": "64"}, "hidden"), ({"device": "tpu"}, "device"),
                         ({"n_jobs": 0}, "n_jobs"), ({"activation": "elu"}, "activation"),
                         ({"validation_fraction": 1.0}, "validation_fraction")]:
        with pytest.raises(UserError, match=f"mlp.*{word}"):
            build(entry, params)
        with pytest.raises(ValueError, match=word):
            MLP(**params).fit(*blobs(30))


def test_same_seed_identical_predictions_and_global_rng_untouched():
    X, y = blobs(noise=2.0)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    a = MLP(**SMALL).fit(X, y).predict_proba(X)
    b = MLP(**SMALL).fit(X, y).predict_proba(X)
    c = MLP(hidden=32, random_state=1).fit(X, y).predict_proba(X)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert all(np.array_equal(s, t) for s, t in zip(np.random.get_state(), np_state))


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 40)), rng.integers(0, 2, 200)  # pure noise: it overfits
    kw = {"hidden": 64, "dropout": 0.0, "lr": 1e-2, "patience": 3, "max_epochs": 300,
          "random_state": 0}
    clf = MLP(**kw).fit(X, y)
    assert clf.n_iter_ < 300 and clf.n_iter_ == clf.best_epoch_ + 3
    curve = clf.validation_loss_curve_
    assert len(curve) == clf.n_iter_ and int(np.argmin(curve)) + 1 == clf.best_epoch_
    # a run stopped at the best epoch by max_epochs has the very weights the first put back
    at_best = MLP(**{**kw, "max_epochs": clf.best_epoch_}).fit(X, y)
    for w, v in zip(clf.coefs_ + clf.intercepts_, at_best.coefs_ + at_best.intercepts_):
        assert np.array_equal(w, v)


def test_validation_part_is_stratified_seeded_and_keeps_every_class_in_training():
    codes = np.repeat([0, 1, 2], [50, 10, 1])
    a = holdout(codes, 0.2, np.random.default_rng(0))
    assert np.bincount(codes[a], minlength=3).tolist() == [10, 2, 0]
    assert np.array_equal(a, holdout(codes, 0.2, np.random.default_rng(0)))
    assert not np.array_equal(a, holdout(codes, 0.2, np.random.default_rng(1)))
    assert holdout(codes, 0.0, np.random.default_rng(0)).size == 0
    clf = MLP(validation_fraction=0.0, max_epochs=7, **SMALL).fit(*blobs(60))
    assert clf.n_iter_ == 7 and clf.validation_loss_curve_ == []


def test_beats_logistic_regression_on_a_nonlinear_problem():
    X, y = xor(1000, seed=0)
    Xt, yt = xor(1000, seed=1)
    linear = np.mean(LogReg(random_state=0).fit(X, y).predict(Xt) == yt)
    mlp = np.mean(MLP(hidden=64, random_state=0).fit(X, y).predict(Xt) == yt)
    assert linear < 0.6 and mlp > 0.9, (linear, mlp)


def test_labels_single_class_dtypes_and_sparse_input():
    X, y = blobs(90)
    names = np.array(["cat", "dog", "eel"])[y]
    clf = MLP(**SMALL).fit(X, names)
    assert clf.classes_.tolist() == ["cat", "dog", "eel"] and clf.n_features_in_ == 8
    assert np.mean(clf.predict(X) == names) > 0.9
    one = MLP(**SMALL).fit(X, np.full(90, 7))
    assert one.predict(X[:3]).tolist() == [7, 7, 7] and one.predict_proba(X[:3]).shape == (3, 1)
    p64 = MLP(**SMALL).fit(X, y).predict_proba(X)
    p32 = MLP(**SMALL).fit(X.astype(np.float32), y).predict_proba(X.astype(np.float32))
    assert np.allclose(p64, p32, atol=1e-3)
    with pytest.raises(TypeError, match="dense data is required.*toarray"):
        MLP(**SMALL).fit(sparse.csr_matrix(X), y)
    with pytest.raises(NotFittedError):
        MLP().predict_proba(X)
    with pytest.raises(ValueError, match="8 features"):
        clf.predict(X[:, :5])


def test_class_weight_shifts_predictions_and_toml_string_keys_name_labels():
    X, y = blobs(300, noise=2.5)
    plain = MLP(**SMALL).fit(X, y).predict(X)
    heavy = MLP(class_weight={"2": 20.0, "0": 1.0, "1": 1.0}, **SMALL).fit(X, y).predict(X)
    assert np.mean(heavy == 2) > np.mean(plain == 2) + 0.1


def test_standardization_uses_training_statistics():
    X, y = blobs(120)
    X = X * 1000 + 5000  # raw scale far from unit
    clf = MLP(**SMALL).fit(X, y)
    assert np.allclose(clf.mean_, X.mean(axis=0)) and np.allclose(clf.scale_, X.std(axis=0))
    assert np.mean(clf.predict(X) == y) > 0.9
    assert MLP(standardize=False, **SMALL).fit(X, y).mean_ is None


def test_device_param(monkeypatch: pytest.MonkeyPatch):
    X, y = blobs(90)
    cpu = MLP(device="cpu", **SMALL).fit(X, y).predict_proba(X)
    if torch.cuda.is_available():
        gpu = MLP(device="cuda", **SMALL).fit(X, y).predict_proba(X)
        assert np.mean(gpu.argmax(1) == cpu.argmax(1)) > 0.95
        return
    assert np.array_equal(MLP(device="auto", **SMALL).fit(X, y).predict_proba(X), cpu)
    with pytest.raises(UserError, match="no CUDA GPU"):
        MLP(device="cuda", **SMALL).fit(X, y)


def test_n_jobs_sets_torch_threads_during_fit_and_predict_only(monkeypatch):
    seen = []
    real_train = mlp_module.train

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(mlp_module, "train", spy)
    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    clf = MLP(n_jobs=want, **SMALL).fit(*blobs(60))
    assert seen == [want] and torch.get_num_threads() == before
    clf.predict(blobs(60)[0])
    assert torch.get_num_threads() == before
    MLP(**SMALL).fit(*blobs(60))  # None and a small network: one thread
    assert seen[-1] == 1 and torch.get_num_threads() == before
    X, y = blobs(256, d=200)  # 256 x (200 x 256 + 256 x 3) = 13M multiply-adds a step
    MLP(hidden=256, max_epochs=1, random_state=0).fit(X, y)
    assert seen[-1] == before  # None and a large one: torch's setting as it is


def test_fitted_model_pickles_as_numpy_and_predicts_the_same():
    X, y = blobs(120)
    clf = MLP(**SMALL).fit(X, y)
    data = pickle.dumps(clf)
    assert b"torch._utils" not in data  # no tensor inside: numpy arrays, on no device
    assert all(isinstance(w, np.ndarray) for w in clf.coefs_ + clf.intercepts_)
    assert np.array_equal(pickle.loads(data).predict_proba(X), clf.predict_proba(X))


def test_runs_in_a_suite_through_the_cli(write_suite, tmp_path, capsys):
    suite = write_suite("""
        name = "mlp"
        seeds = [0]

        [[datasets]]
        name = "synthetic"
        params = { n = 150, n_classes = 3 }

        [[featurizers]]
        name = "hog-color"
        params = { pixels_per_cell = 4 }

        [[featurizers]]
        name = "tfidf"
        params = { max_features = 64, min_df = 1 }

        [[fusions]]
        name = "concat"

        [[classifiers]]
        name = "mlp"
        params = { hidden = [16, [32, 16]], batch_size = 32 }
    """)
    assert main(["run", str(suite)]) == 0
    assert "6 run, 0 failed" in capsys.readouterr().out
    records = [json.loads(p.read_text())
               for p in (tmp_path / "results" / "mlp" / "cells").glob("*.json")]
    hidden = sorted(str(r["classifier"]["params"]["hidden"]) for r in records)
    assert hidden == ["16", "16", "16", "[32, 16]", "[32, 16]", "[32, 16]"]
    assert all(r["metrics"]["accuracy"] > 0.5 for r in records), [
        (r["fusion"]["name"], r["metrics"]["accuracy"]) for r in records]
    bad = write_suite(suite.read_text().replace("batch_size = 32", "dropout = 1.5"), "bad.toml")
    assert main(["validate", str(bad)]) == 2
    assert "The 'dropout' parameter of MLP must be" in capsys.readouterr().err


def test_docs_list_every_parameter_and_their_suite_example_validates(write_suite, capsys):
    import inspect
    import re

    from conftest import REPO

    doc = (REPO / "docs" / "classifiers.md").read_text()
    mlp = doc.split("## `mlp`", 1)[1]
    table = {m for m in re.findall(r"^\| `(\w+)` \|", mlp, re.M)}
    params = set(inspect.signature(MLP).parameters)
    assert table == params, (table ^ params)
    for name, p in inspect.signature(MLP).parameters.items():
        assert f":param {name}:" in MLP.__doc__, name
    example = re.search(r"```toml\n(.*?)```", mlp, re.S).group(1)
    suite = write_suite(f"""
        name = "doc"
        [[datasets]]
        name = "synthetic"
        [[featurizers]]
        name = "tfidf"
        [[featurizers]]
        name = "hog-color"
        [[fusions]]
        name = "concat"
    """ + "\n" + example)
    assert main(["validate", str(suite)]) == 0
    # 3 rows (two unimodal, concat) x 4 mlp variants x 1 seed
    assert "12 cells" in capsys.readouterr().out


@pytest.mark.parametrize("params,shapes", [
    ({"hidden": []}, [(3, 8)]),  # no hidden layer: multinomial logistic regression
    ({"hidden": (16, 8), "activation": "tanh"}, [(16, 8), (8, 16), (3, 8)]),
    ({"hidden": 12, "activation": "gelu"}, [(12, 8), (3, 12)]),
])
def test_layer_sizes_and_activations(params, shapes):
    X, y = blobs(150)
    clf = MLP(random_state=0, lr=1e-2, **params).fit(X, y)
    assert [w.shape for w in clf.coefs_] == shapes
    assert np.mean(clf.predict(X) == y) > 0.9
