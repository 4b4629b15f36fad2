"""The fusion strategies of every level: conformance, special cases that must reduce to a
single modality, no leakage under permuted labels, out-of-fold stacking, train-only CCA and
missing modalities."""

from __future__ import annotations

import mmbench_fusion as fusion
import numpy as np
import pytest
from sklearn.cross_decomposition import CCA
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from mmbench.plugins import get_catalog
from mmbench.protocols import LEVELS
from mmbench.testing import check_fusion

EXPECTED = {
    "concat": "feature", "weighted-sum": "feature",
    "late-mean": "decision", "late-weighted": "decision", "late-product": "decision",
    "late-max": "decision", "stacking": "decision",
    "cca": "structure", "pls": "structure", "tensor": "structure",
    "low-rank-tensor": "structure", "joint-embedding": "structure",
}
FAST_TORCH = {"epochs": 10}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():  # type: ignore[no-untyped-def]
    """Tiny torch models run fastest on one thread (and do not fight other processes)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def logreg() -> LogisticRegression:
    return LogisticRegression(max_iter=500)


def views_with_signal(n: int, n_classes: int, dims: tuple[int, int], seed: int
                      ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Image and text views that each carry the class, plus noise dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    views = {}
    for m, d in zip(("image", "text"), dims):
        x = rng.normal(0, 1, (n, d))
        x[:, :n_classes] += np.eye(n_classes)[y] * 1.5
        views[m] = x.astype(np.float32)
    return views, y


def split(views: dict[str, np.ndarray], cut: int) -> tuple[dict, dict]:
    return {m: v[:cut] for m, v in views.items()}, {m: v[cut:] for m, v in views.items()}


def build(name: str, **params: object) -> object:
    cls = get_catalog()["fusion"].get(name).cls
    extra = FAST_TORCH if name in ("low-rank-tensor", "joint-embedding") else {}
    return cls(**{**extra, **params})


def test_every_strategy_is_registered_with_its_level_and_docs() -> None:
    registry = get_catalog()["fusion"]
    for name, level in EXPECTED.items():
        entry = registry.get(name)
        assert entry.cls.level == level, f"{name} has level {entry.cls.level}"
        assert level in LEVELS
        doc = entry.cls.__doc__ or ""
        assert "Missing modality" in doc, f"{name} does not document missing modalities"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_conformance(name: str) -> None:
    cls = get_catalog()["fusion"].get(name).cls
    params = FAST_TORCH if name in ("low-rank-tensor", "joint-embedding") else {}
    check_fusion(cls, **params)


def test_late_weighted_alpha_one_is_the_image_only_result() -> None:
    views, y = views_with_signal(300, 3, (6, 6), seed=0)
    tr, te = split(views, 200)
    weighted = fusion.LateWeighted(alpha=1.0).fit(tr, y[:200], logreg)
    image_only = fusion.Unimodal(modality="image").fit(tr, y[:200], logreg)
    # equal up to float32 rounding (the late rules renormalize their output rows)
    np.testing.assert_allclose(weighted.predict_proba(te), image_only.predict_proba(te),
                               rtol=1e-6, atol=1e-9)
    text_only = fusion.Unimodal(modality="text").fit(tr, y[:200], logreg)
    zero = fusion.LateWeighted(alpha=0.0).fit(tr, y[:200], logreg)
    np.testing.assert_allclose(zero.predict_proba(te), text_only.predict_proba(te), rtol=1e-6,
                               atol=1e-9)
    half = fusion.LateWeighted(alpha=0.5).fit(tr, y[:200], logreg).predict_proba(te)
    assert not np.allclose(half, image_only.predict_proba(te))


@pytest.mark.parametrize("projection", ["pca", "identity"])
def test_weighted_sum_alpha_one_is_the_projected_image(projection: str) -> None:
    views, y = views_with_signal(300, 3, (8, 8), seed=1)
    tr, te = split(views, 200)
    ws = fusion.WeightedSum(alpha=1.0, projection=projection).fit(tr, y[:200], logreg)
    projected = ws.project(te)
    np.testing.assert_allclose(ws.represent(te), projected["image"], atol=1e-12)
    alone = logreg().fit(ws.project(tr)["image"], y[:200])
    np.testing.assert_allclose(ws.predict_proba(te), alone.predict_proba(projected["image"]),
                               atol=1e-10)
    half = fusion.WeightedSum(alpha=0.5, projection=projection).fit(tr, y[:200], logreg)
    np.testing.assert_allclose(half.represent(te), 0.5 * projected["image"] + 0.5 * projected["text"],
                               atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_permuted_labels_stay_at_chance(name: str) -> None:
    views, y = views_with_signal(900, 3, (10, 12), seed=2)
    y = np.random.default_rng(3).permutation(y)  # labels no longer tied to the features
    tr, te = split(views, 600)
    model = build(name).fit(tr, y[:600], logreg)
    acc = np.mean(np.asarray(model.predict_proba(te)).argmax(axis=1) == y[600:])
    assert acc < 1 / 3 + 0.1, f"{name}: {acc:.3f} on held-out permuted labels (chance 0.333)"
    # the same strategy learns when the labels are real, so the check above can fail
    views, y = views_with_signal(900, 3, (10, 12), seed=2)
    real = build(name).fit(tr, y[:600], logreg).predict_proba(te).argmax(axis=1)
    assert np.mean(real == y[600:]) > 0.6


def test_stacking_meta_classifier_sees_out_of_fold_probabilities() -> None:
    views, y = views_with_signal(300, 3, (5, 5), seed=4)
    y = np.random.default_rng(5).permutation(y)
    model = fusion.Stacking(cv=5, random_state=0).fit(views, y, lambda: KNeighborsClassifier(1))
    # in-sample, a 1-nearest-neighbour classifier is always right; out of fold it is at chance
    for j in range(2):
        oof = model.oof_[:, j * 3:(j + 1) * 3].argmax(axis=1)
        assert np.mean(oof == y) < 0.5, "stacking trained its meta-classifier in-sample"
    in_sample = KNeighborsClassifier(1).fit(views["image"], y).predict(views["image"])
    assert np.mean(in_sample == y) == 1.0


def test_cca_is_fitted_on_the_training_split_only() -> None:
    views, y = views_with_signal(400, 3, (6, 7), seed=6)
    tr, te = split(views, 250)
    model = fusion.CCA(n_components=3).fit(tr, y[:250], logreg)
    z = {m: StandardScaler().fit_transform(v) for m, v in tr.items()}
    ref = CCA(n_components=3, scale=False, max_iter=500).fit(z["image"], z["text"])
    np.testing.assert_allclose(np.abs(model.model_.x_rotations_), np.abs(ref.x_rotations_),
                               atol=1e-6)
    everything = {m: StandardScaler().fit_transform(v) for m, v in views.items()}
    leaky = CCA(n_components=3, scale=False, max_iter=500).fit(everything["image"],
                                                              everything["text"])
    assert not np.allclose(np.abs(model.model_.x_rotations_), np.abs(leaky.x_rotations_),
                           atol=1e-3)
    # predicting never refits: a test row's representation does not depend on other test rows
    np.testing.assert_allclose(model.represent({m: v[:10] for m, v in te.items()}),
                               model.represent(te)[:10], atol=1e-10)
    # the PCA that first reduces a wide modality is fitted on the training split too
    views, y = views_with_signal(400, 3, (6, 30), seed=6)
    tr, te = split(views, 250)
    model = fusion.CCA(n_components=3, reduce=10).fit(tr, y[:250], logreg)
    assert set(model.pca_) == {"text"}
    ref_pca = PCA(10).fit(StandardScaler().fit_transform(tr["text"].astype(np.float64)))
    np.testing.assert_allclose(np.abs(model.pca_["text"].components_),
                               np.abs(ref_pca.components_), atol=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_missing_modalities_are_handled(name: str) -> None:
    views, y = views_with_signal(300, 3, (6, 6), seed=7)
    tr, te = split(views, 200)
    te = {m: v.copy() for m, v in te.items()}
    te["image"][:10] = np.nan
    te["text"][10:20] = np.nan
    te["image"][20:25] = np.nan
    te["text"][20:25] = np.nan
    model = build(name).fit(tr, y[:200], logreg)
    proba = np.asarray(model.predict_proba(te))
    assert proba.shape == (100, 3) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    if model.level == "decision":  # documented: a sample with no modality gets the prior
        np.testing.assert_allclose(proba[20:25], np.tile(model.prior_, (5, 1)), atol=1e-12)
    # rows that have both modalities are unaffected by other rows missing theirs
    full = np.asarray(model.predict_proba({m: v[200:] for m, v in views.items()}))
    np.testing.assert_allclose(proba[25:], full[25:], atol=1e-8)


def test_late_rules_on_known_probabilities() -> None:
    probas = np.array([[[0.7, 0.2, 0.1]], [[0.1, 0.3, 0.6]]])
    np.testing.assert_allclose(fusion.LateMax().combine(probas), [[0.7, 0.2, 0.1]])
    geo = fusion.LateProduct().combine(probas)
    expected = np.sqrt(probas[0] * probas[1])
    np.testing.assert_allclose(geo / geo.sum(), expected / expected.sum())
    late = fusion.LateWeighted(alpha=0.25)
    late.clfs_ = {"image": None, "text": None}
    np.testing.assert_allclose(late.combine(probas), 0.25 * probas[0] + 0.75 * probas[1])


@pytest.mark.parametrize("params", [{"alpha": 1.5}, {"alpha": -0.1}, {"alpha": "half"}])
def test_alpha_outside_unit_interval_is_refused(params: dict) -> None:
    for cls in (fusion.LateWeighted, fusion.WeightedSum):
        with pytest.raises(ValueError, match="alpha must be a number in"):
            cls(**params)


def test_n_components_larger_than_the_features_fails_clearly_at_fit() -> None:
    views, y = views_with_signal(100, 3, (4, 5), seed=8)
    with pytest.raises(ValueError, match="n_components=6 exceeds"):
        fusion.CCA(n_components=6).fit(views, y, logreg)
    assert fusion.CCA(n_components=4).check_dims({"image": 4, "text": 5}) == []
    assert "exceeds" in fusion.PLS(n_components=6).check_dims({"image": 4, "text": None})[0]
