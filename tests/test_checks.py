"""The conformance checks: each rule catches the mistake it is for, with a message that says
what is wrong; good plugins pass; parametrize_with_checks lists the rules as pytest tests."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mmbench import checks
from mmbench.protocols import (FeaturizerBase, FusionBase, MultimodalData, RepresentationFusion,
                               missing_rows)
from mmbench.testing import (check_classifier, check_dataset, check_featurizer, check_fusion,
                             parametrize_with_checks, tiny_data)

# --- plugins that follow the contracts -------------------------------------------------------


class WordCount(FeaturizerBase):
    """Words and characters per caption."""

    modality = "text"

    def transform(self, samples):
        return np.array([[len(s.split()), len(s)] for s in samples], dtype=np.float32)


class Centroid(ClassifierMixin, BaseEstimator):
    """Nearest centroid (a hand-written scikit-learn classifier)."""

    def __init__(self, *, scale: float = 1.0) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
            raise ValueError(f"scale must be a positive number, got {scale!r}")
        self.scale = scale

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        d = ((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2) * self.scale
        p = np.exp(-(d - d.min(axis=1, keepdims=True)))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class MeanLate(FusionBase):
    """Average of per-modality probabilities. Missing modality: left out of the average."""

    level = "decision"

    def fit(self, views, y, make_classifier):
        self._set_classes(y)
        self.clfs_ = {m: make_classifier().fit(v, y) for m, v in views.items()}
        return self

    def predict_proba(self, views):
        n = len(next(iter(views.values())))
        total, count = np.zeros((n, self.n_classes_)), np.zeros((n, 1))
        for m, clf in self.clfs_.items():
            ok = ~missing_rows(views[m])
            if ok.any():
                total[ok] += self._full_proba(clf, views[m][ok])
                count[ok] += 1
        return np.where(count > 0, total / np.maximum(count, 1), self.prior_)


class Tiny:
    """A dataset: tiny_data with a size."""

    modalities = ("image", "text")

    def __init__(self, *, n: int = 60) -> None:
        self.n = n

    def load(self) -> MultimodalData:
        return tiny_data(self.n)


def test_good_plugins_pass_every_check():
    out = check_featurizer(WordCount())
    assert out.shape == (120, 2) and out.dtype == np.float32
    check_classifier(Centroid, scale=2.0)
    proba = check_fusion(MeanLate)
    assert proba.shape == (45, 3)
    data = check_dataset(Tiny, n=48)
    assert len(data) == 48


class Counting(Centroid):
    fits: list[int] = []

    def fit(self, X, y):
        Counting.fits.append(len(y))
        return super().fit(X, y)


def test_the_plain_runs_share_one_fit(monkeypatch):
    rules = [c for c in checks.CHECKS["classifier"] if c is not checks.check_classifier_sklearn_suite]
    monkeypatch.setitem(checks.CHECKS, "classifier", rules)
    Counting.fits = []
    check_classifier(Counting)
    # one shared fit for params/fit/proba/learn, one for the labels-not-from-zero rule; one
    # shared by the seed, refit, params and pickle rules, one more for the seed rule and two
    # for the refit rule
    assert Counting.fits == [90, 90, 60, 60, 60, 60]


# --- one broken plugin per rule ----------------------------------------------------------------


class Float64(WordCount):
    def transform(self, samples):
        return super().transform(samples).astype(np.float64)


class FitReturnsNone(WordCount):
    def fit(self, samples):
        return None


class WithNaN(WordCount):
    def transform(self, samples):
        x = super().transform(samples)
        x[3, 1] = np.nan
        return x


class BatchDependent(WordCount):
    def transform(self, samples):
        x = super().transform(samples)
        return (x - x.mean(axis=0)).astype(np.float32)  # standardized within the batch


class Random(WordCount):
    def transform(self, samples):
        return np.random.default_rng().random((len(samples), 2), dtype=np.float32)


class NoVersion(WordCount):
    version = 2  # type: ignore[assignment]


class FitNone(Centroid):
    def fit(self, X, y):
        super().fit(X, y)


class SumsTo08(Centroid):
    def predict_proba(self, X):
        return super().predict_proba(X) * 0.8


class ForgetsParams(Centroid):
    def get_params(self, deep=True):
        return {}


class Reindexes(Centroid):
    def fit(self, X, y):
        super().fit(X, np.searchsorted(np.unique(y), y))
        return self


class Uniform(Centroid):
    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


class CrashesOnMissing(MeanLate):
    """Missing modality: crashes (the point of this test)."""

    def predict_proba(self, views):
        return np.mean([self._full_proba(c, views[m]) for m, c in self.clfs_.items()], axis=0)


class Scribbles(MeanLate):
    def fit(self, views, y, make_classifier):
        views["image"] *= 2
        return super().fit(views, y, make_classifier)


class TwoColumns(MeanLate):
    def predict_proba(self, views):
        return super().predict_proba(views)[:, :2]


class FusionFitNone(MeanLate):
    def fit(self, views, y, make_classifier):
        super().fit(views, y, make_classifier)


class Prior(MeanLate):
    def predict_proba(self, views):
        return np.tile(self.prior_, (len(next(iter(views.values()))), 1))


class NoModalities(MeanLate):
    min_modalities = 0


class ForgetsClassOne(MeanLate):
    def predict_proba(self, views):
        p = super().predict_proba(views)
        return p[:, :2] / p[:, :2].sum(axis=1, keepdims=True) if p.shape[1] == 3 else p


class UniformWhenEmpty(MeanLate):
    def predict_proba(self, views):
        p = super().predict_proba(views)
        gone = np.logical_and.reduce([missing_rows(v) for v in views.values()])
        p[gone] = 1 / self.n_classes_
        return p


class BatchCentred(MeanLate):
    """Centres each test view on the batch's own mean (a statistic of the test batch)."""

    def fit(self, views, y, make_classifier):
        self.means_ = {m: v.mean(axis=0) for m, v in views.items()}
        return super().fit(views, y, make_classifier)

    def predict_proba(self, views):
        return super().predict_proba(
            {m: v - np.nanmean(v, axis=0) + self.means_[m] for m, v in views.items()})


class ClassifierScaled(RepresentationFusion):
    """Scales its representation by its classifier's ``C``: it depends on the classifier, so
    a refit of another classifier on it is not what a full fit gives."""

    level = "feature"

    def fit(self, views, y, make_classifier):
        self._set_classes(y)
        clf = make_classifier()
        self.scale_ = clf.get_params().get("C", 1.0)
        self.means_ = {m: v.mean(axis=0) for m, v in views.items()}
        self.clf_ = clf.fit(self.represent(views), y)
        return self

    def represent(self, views):
        blocks = []
        for m in sorted(views):
            x = np.array(views[m], dtype=np.float64)
            x[missing_rows(x)] = self.means_[m]
            blocks.append(x)
        return np.hstack(blocks) * self.scale_


class RefitsInPlace(ClassifierScaled):
    """Its representation is the classifier's own, but a refit replaces its classifier."""

    def fit(self, views, y, make_classifier):
        super().fit(views, y, lambda: LogisticRegression(max_iter=500))
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self

    def refit_classifier(self, views, y, make_classifier):
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self


class Jitter(Centroid):
    def fit(self, X, y):
        super().fit(X, y)
        self.centroids_ = self.centroids_ + np.random.normal(0, 0.5, self.centroids_.shape)
        return self


class RemembersFirst(Centroid):
    def fit(self, X, y):
        return self if hasattr(self, "centroids_") else super().fit(X, y)


class DoublesScale(Centroid):
    def fit(self, X, y):
        self.scale = self.scale * 2
        return super().fit(X, y)


class KeepsLambda(WordCount):
    def fit(self, samples):
        self.measure_ = lambda s: len(s)
        return self


class LaxScale(Centroid):
    def __init__(self, *, scale: float = 1.0) -> None:
        self.scale = scale


class NoInputChecks(Centroid):
    def predict_proba(self, X):
        d = ((np.asarray(X)[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
        p = np.exp(-(d - d.min(axis=1, keepdims=True)))
        return p / p.sum(axis=1, keepdims=True)


class DeclaresText(Tiny):
    def load(self):
        d = super().load()
        return MultimodalData({"image": d.modalities["image"]}, d.y, d.class_names,
                              d.fingerprint)


class FloatLabels(Tiny):
    def load(self):
        d = super().load()
        return MultimodalData(d.modalities, d.y.astype(float), d.class_names, d.fingerprint)


class LabelsOutOfRange(Tiny):
    def load(self):
        d = super().load()
        return MultimodalData(d.modalities, d.y, d.class_names[:2], d.fingerprint)


class FloatImages(Tiny):
    def load(self):
        d = super().load()
        return MultimodalData({**d.modalities, "image": d.modalities["image"] / 255.0}, d.y,
                              d.class_names, d.fingerprint)


class IntTexts(Tiny):
    def load(self):
        d = super().load()
        texts = list(d.modalities["text"])
        texts[5] = 5
        return MultimodalData({**d.modalities, "text": texts}, d.y, d.class_names,
                              d.fingerprint)


class TimeFingerprint(Tiny):
    def load(self):
        d = super().load()
        return MultimodalData(d.modalities, d.y, d.class_names, str(np.random.random()))


class ReturnsDict(Tiny):
    def load(self):
        return {"image": [], "text": []}


BROKEN = [
    (Float64, checks.check_featurizer_output,
     "Float64: transform() returned float64 of shape (120, 2) but features must be "
     "float32[N, D] with N = 120 samples"),
    (FitReturnsNone, checks.check_featurizer_fit_returns_self, "fit() must return self, got None"),
    (WithNaN, checks.check_featurizer_output,
     "transform() returned 1 NaN/inf values (first at row 3, column 1)"),
    (BatchDependent, checks.check_featurizer_rows_independent,
     "row 0 of transform(unseen samples) differs from the same sample's row"),
    (Random, checks.check_featurizer_deterministic, "two transform() calls on the same samples"),
    (NoVersion, checks.check_featurizer_contract, "version must be a non-empty string"),
    (FitNone, checks.check_classifier_fit_returns_self, "FitNone: fit() must return self, got None"),
    (SumsTo08, checks.check_classifier_predict_proba,
     "predict_proba rows must sum to 1 (row 0 sums to 0.8; 90 of 90 rows are off)"),
    (ForgetsParams, checks.check_classifier_params,
     "get_params() lacks the __init__ parameter(s) ['scale']"),
    (Reindexes, checks.check_classifier_labels_not_from_zero,
     "trained on labels 0, 2, 3, classes_ must be [0, 2, 3], got [0 1 2]"),
    (Uniform, checks.check_classifier_learns, "accuracy 0.33 on a well-separated"),
    (CrashesOnMissing, checks.check_fusion_missing_modality,
     "predict_proba raised ValueError"),
    (Scribbles, checks.check_fusion_leaves_views_alone,
     "fit() or predict_proba() modified the 'image' view in place"),
    (TwoColumns, checks.check_fusion_predict_proba,
     "predict_proba returned shape (45, 2); expected (45, 3)"),
    (FusionFitNone, checks.check_fusion_fit_returns_self,
     "FusionFitNone: fit() must return self, got None"),
    (Prior, checks.check_fusion_learns, "is near chance (0.33, 3 classes) on 45 test rows of views "
                                        "that each carry the class (widths: image 7, text 4) "
                                        "(trained on 105 rows)"),
    (NoModalities, checks.check_fusion_contract, "min_modalities must be a positive integer"),
    (ForgetsClassOne, checks.check_fusion_class_missing_from_training,
     "predict_proba after training without class 1 returned shape (45, 2); expected (45, 3)"),
    (DeclaresText, checks.check_dataset_load,
     "modalities declares ['image', 'text'] but load() returned ['image']"),
    (FloatLabels, checks.check_dataset_labels,
     "y is float64 of shape (60,) but labels must be int64[N]"),
    (LabelsOutOfRange, checks.check_dataset_labels, "labels must lie in range(2)"),
    (FloatImages, checks.check_dataset_samples,
     "modality 'image' is float64 of shape (60, 8, 8, 3) but images must be uint8[N, H, W, 3]"),
    (IntTexts, checks.check_dataset_samples, "modality 'text' holds int at index 5"),
    (TimeFingerprint, checks.check_dataset_fingerprint, "two load() calls gave different "
                                                        "fingerprints"),
    (UniformWhenEmpty, checks.check_fusion_all_missing_gives_prior,
     "rows missing every modality got [0.3333, 0.3333, 0.3333] instead of the training class "
     "prior [0.3048, 0.3333, 0.3619]"),
    (BatchCentred, checks.check_fusion_complete_rows_unchanged,
     "when other rows of the batch lost a modality; impute and scale with statistics of the "
     "training views"),
    (ClassifierScaled, checks.check_fusion_refit_classifier,
     "refit_classifier() with another classifier predicts up to"),
    (RefitsInPlace, checks.check_fusion_refit_classifier,
     "refit_classifier() changed the fusion it was called on"),
    (Jitter, checks.check_same_random_state,
     "Jitter: two fits with the same parameters on the same data gave different "
     "predict_proba()"),
    (RemembersFirst, checks.check_fit_twice,
     "fit() after an earlier fit on other data gave different predict_proba() than one fit"),
    (DoublesScale, checks.check_params_unchanged_by_fit,
     "fit() changed parameter(s) scale: 1.0 -> 2.0"),
    (KeepsLambda, checks.check_pickle_round_trip,
     "a fitted object does not pickle: AttributeError"),
    (LaxScale, checks.check_refuses_invalid_params, "LaxScale(scale='1.0') was accepted"),
    (NoInputChecks, checks.check_classifier_sklearn_suite,
     "of scikit-learn's estimator checks (check_"),
    (ReturnsDict, checks.check_dataset_load,
     "load() must return mmbench.protocols.MultimodalData, got dict"),
]


@pytest.mark.parametrize("plugin,check,message", BROKEN,
                         ids=[f"{p.__name__}-{c.__name__}" for p, c, _ in BROKEN])
def test_each_rule_catches_its_mistake_and_says_what_is_wrong(plugin, check, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        check(plugin)
    # ... and the kind's full run stops on it too
    run = {"featurizer": check_featurizer, "classifier": check_classifier,
           "fusion": check_fusion, "dataset": check_dataset}[checks.kind_of(plugin)]
    with pytest.raises(AssertionError):
        run(plugin)


def test_every_rule_has_a_mistake_it_catches():
    caught = {c.__name__ for _, c, _ in BROKEN}
    listed = {c.__name__ for rules in checks.CHECKS.values() for c in rules}
    assert listed - caught == {"check_dataset_contract", "check_classifier_contract"}


def test_a_class_that_needs_parameters_asks_for_an_instance():
    class Needs(WordCount):
        def __init__(self, *, size: int) -> None:
            self.size = size

    with pytest.raises(AssertionError, match=r"Needs\(\) raised TypeError.*pass an instance"):
        checks.check_featurizer_output(Needs)
    checks.check_featurizer_output(Needs(size=3))


def test_a_modality_not_in_the_test_data_says_to_pass_data():
    class Audio(WordCount):
        modality = "audio"

    with pytest.raises(AssertionError, match=r"modality 'audio' is not in the test data "
                                             r"\['image', 'text'\]; pass data="):
        check_featurizer(Audio())


def test_kind_is_inferred_or_refused():
    assert [checks.kind_of(p) for p in (Tiny, WordCount(), MeanLate, Centroid)] == [
        "dataset", "featurizer", "fusion", "classifier"]
    with pytest.raises(TypeError, match="cannot tell which kind of plugin int is"):
        checks.kind_of(int)


def test_parametrize_with_checks_gives_one_test_per_rule_with_named_ids():
    mark = parametrize_with_checks([MeanLate, WordCount(), LogisticRegression(max_iter=200)])
    names, params = mark.args
    assert names == ("plugin", "check")
    ids = [p.id for p in params]
    n_rules = len(checks.CHECKS["fusion"]) + len(checks.CHECKS["featurizer"]) + len(
        checks.CHECKS["classifier"])
    assert len(ids) == len(set(ids)) == n_rules
    assert "MeanLate-check_fusion_missing_modality" in ids
    assert "WordCount-check_featurizer_rows_independent" in ids
    assert "LogisticRegression(max_iter=200)-check_classifier_learns" in ids


@parametrize_with_checks([MeanLate, WordCount(), Centroid(scale=0.5), Tiny(n=45)])
def test_the_kit_used_as_a_plugin_author_would(plugin, check):
    check(plugin)


def test_in_a_real_pytest_session(tmp_path):
    """parametrize_with_checks on a plugin that breaks one rule fails that rule's tests only;
    the fixtures of mmbench.pytest_plugin are opt-in and undo their registrations."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["mmbench.pytest_plugin"]\n')
    (tmp_path / "test_author.py").write_text(
        "import sys\n"
        "import numpy as np\n"
        "import mmbench\n"
        "from mmbench.plugins import get_catalog\n"
        "from mmbench.protocols import FeaturizerBase\n"
        "from mmbench.testing import parametrize_with_checks\n\n"
        "class Lengths(FeaturizerBase):\n"
        "    modality = 'text'\n"
        "    def transform(self, samples):\n"
        "        return np.array([[len(s)] for s in samples], dtype=np.float64)\n\n"
        "@mmbench.hookimpl\n"
        "def mmbench_register_featurizers(register):\n"
        "    register(Lengths, name='lengths')\n\n"
        "@parametrize_with_checks([Lengths])\n"
        "def test_contract(plugin, check):\n"
        "    check(plugin)\n\n"
        "def test_nothing_is_autouse(request):\n"
        "    assert not [f for f in request.fixturenames if f.startswith('mmbench')]\n\n"
        "def test_registered_for_one_test(mmbench_registered, mmbench_tiny_data):\n"
        "    catalog = mmbench_registered(sys.modules[__name__])\n"
        "    assert catalog['featurizer'].get('lengths').cls is Lengths\n"
        "    assert len(mmbench_tiny_data) == 120\n\n"
        "def test_and_gone_afterwards():\n"
        "    assert 'lengths' not in get_catalog()['featurizer']\n"
    )
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rf", "test_author.py"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = re.findall(r"FAILED test_author.py::(\S+)", done.stdout)
    # a float64 output breaks the output rule and the rules that read the features
    assert "test_contract[Lengths-check_featurizer_output]" in failed
    assert "test_contract[Lengths-check_featurizer_contract]" not in failed
    assert "test_contract[Lengths-check_featurizer_fit_returns_self]" not in failed
    assert not [f for f in failed if not f.startswith("test_contract")], failed
    assert "but features must be float32[N, D]" in done.stdout
    # output, rows_independent and deterministic read the float64 features
    passed = len(checks.CHECKS["featurizer"]) - 3 + 3  # and the three other tests
    assert f"3 failed, {passed} passed" in done.stdout, done.stdout[-2000:]


class Gated(MeanLate):
    """A fusion with parameters (their values name its tests)."""

    def __init__(self, *, head: str = "linear", hidden: int = 8) -> None:
        if head not in ("linear", "softmax"):
            raise ValueError(f"head must be 'linear' or 'softmax', got {head!r}")
        if isinstance(hidden, bool) or not isinstance(hidden, int):
            raise ValueError(f"hidden must be an integer, got {hidden!r}")
        self.head = head
        self.hidden = hidden


def test_test_ids_name_the_parameters_that_differ_from_the_defaults():
    _, params = parametrize_with_checks([Gated(head="softmax"), Gated, Gated(hidden=8)]).args
    ids = [p.id for p in params]
    assert "Gated(head='softmax')-check_fusion_learns" in ids
    assert ids.count("Gated-check_fusion_learns") == 2  # a class, and an instance at defaults
    assert not [i for i in ids if re.search(r"\d-check", i)]


def test_check_data_scales_with_n_and_dims():
    data = tiny_data(n=600, dims={"image": 64, "text": 2})
    assert data.modalities["image"].shape == (600, 64) and data.modalities["text"].shape == (
        600, 2)
    assert data.modalities["image"].dtype == np.float32 and data.kind("text") == "numeric"
    assert np.bincount(data.y).tolist() == [200, 200, 200]
    proba = check_fusion(Gated(head="softmax"), data=data)
    assert proba.shape == (180, 3)  # the last 30% of the rows
    with pytest.raises(ValueError, match="dims maps modality names to positive widths"):
        tiny_data(dims={"image": 0})


def test_near_chance_says_accuracy_chance_and_data_size():
    with pytest.raises(AssertionError, match=r"accuracy 0\.\d\d is near chance \(0\.25, 4 "
                                             r"classes\) on 120 test rows .*widths: image 16, "
                                             r"text 8.*\(trained on 280 rows\)"):
        checks.check_fusion_learns(Prior, data=tiny_data(n=400, n_classes=4,
                                                         dims={"image": 16, "text": 8}))


def test_the_kit_and_the_checks_import_no_circle():
    import ast
    from pathlib import Path

    root = Path(checks.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {"testing", "mmbench.testing"} & imported, f"{path.name} imports the kit"
        assert len(path.read_text().splitlines()) < 400, f"{path.name} is over 400 lines"


def test_every_rule_is_documented_with_its_data():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text()
    for rules in checks.CHECKS.values():
        for rule in rules:
            assert f"| `{rule.__name__}` |" in doc, rule.__name__
    assert 'tiny_data(n=2000, dims={"image": 64, "text": 32})' in doc
