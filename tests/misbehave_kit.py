"""A third-party plugin distribution that misbehaves on purpose, installed into a folder of its
own (a module and its ``.dist-info`` with an ``mmbench`` entry point), and the CLI run in a
child process that sees it, as a user's would."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from install_kit import env_with

DIST = "mmbench-misbehave"
MODULE = "mmbench_misbehave"

CODE = '''
"""Plugins that misbehave: write into what they are given, return what is not probabilities,
print at import, name classes like markup (each says what it does)."""
import os

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

import mmbench
from mmbench.protocols import FeaturizerBase, FusionBase


class ImageScribble(FeaturizerBase):
    """Channel means of each image, then zeroes the images it was given, in place."""
    modality = "image"

    def transform(self, samples):
        x = np.asarray(samples, dtype=np.float32).mean(axis=(1, 2))
        samples[...] = 0
        return x


class TextScribble(FeaturizerBase):
    """Caption lengths, then overwrites every caption of the list it was given."""
    modality = "text"

    def transform(self, samples):
        x = np.array([[len(s), s.count(" ")] for s in samples], dtype=np.float32)
        samples[:] = ["scribbled"] * len(samples)
        return x


class InplaceScaler(BaseEstimator):
    """Logistic regression that first multiplies its training matrix by ``factor`` in place."""

    def __init__(self, *, factor=1000.0):
        self.factor = factor

    def fit(self, X, y):
        X *= self.factor
        self.clf_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, X):
        return self.clf_.predict_proba(X)


class LabelShifter(BaseEstimator):
    """Logistic regression that rotates the labels it is given, in place, after fitting."""

    def fit(self, X, y):
        self.clf_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        y[:] = (y + 1) % (y.max() + 1)
        return self

    def predict_proba(self, X):
        return self.clf_.predict_proba(X)


class Honest(BaseEstimator):
    """Plain logistic regression (its results are what its version says)."""

    def __init__(self, *, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.clf_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, X):
        return self.clf_.predict_proba(X)


class ViewScribble(FusionBase):
    """Concatenation that first zeroes the training view of its first modality, in place."""
    level = "feature"

    def fit(self, views, y, make_classifier):
        self._set_classes(y)
        first = sorted(views)[0]
        views[first][:] = 0
        self.clf_ = make_classifier().fit(np.hstack([views[m] for m in sorted(views)]), y)
        return self

    def predict_proba(self, views):
        return self._full_proba(self.clf_, np.hstack([views[m] for m in sorted(views)]))


class Tagged(BaseEstimator):
    """Plain logistic regression with a free-text ``tag`` parameter it ignores (so labels can
    hold anything: rich markup, HTML)."""

    def __init__(self, *, tag=""):
        self.tag = tag

    def fit(self, X, y):
        self.clf_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, X):
        return self.clf_.predict_proba(X)


class Logits(Honest):
    """Returns decision scores (negative, rows not summing to 1) as if they were probabilities."""

    def predict_proba(self, X):
        return self.clf_.decision_function(X)


class Unnormalized(Honest):
    """Returns positive scores whose rows sum to 3."""

    def predict_proba(self, X):
        return 3 * self.clf_.predict_proba(X)


class HostileNames:
    """tiny_data with class names a renderer could mistake for markup: math, HTML, rich tags."""
    modalities = ("image", "text")
    NAMES = ("$x^$", "<img src=x onerror=alert(1)>", "[/][link=http://evil]c[/link]")

    def __init__(self, *, n=90):
        self.n = n

    def load(self):
        import dataclasses
        from mmbench.testing import tiny_data
        data = tiny_data(self.n, 3)
        return dataclasses.replace(data, class_names=self.NAMES,
                                   fingerprint="hostile-" + data.fingerprint)


class Raises(Honest):
    """Raises in fit (a plugin bug)."""

    def fit(self, X, y):
        raise RuntimeError("boom in fit")


class SparseClasses(HostileNames):
    """tiny_data whose class list names a class no sample has (label 0; the samples' labels
    are 1..3)."""

    def load(self):
        import dataclasses
        from mmbench.testing import tiny_data
        data = tiny_data(self.n, 3)
        return dataclasses.replace(data, y=(data.y + 1).astype("int64"),
                                   class_names=("never-seen", "a", "b", "c"),
                                   fingerprint="sparse-" + data.fingerprint)


if os.environ.get("MISBEHAVE_PRINT_AT_IMPORT"):
    print("misbehave: hello from import time")


@mmbench.hookimpl
def mmbench_register_datasets(register):
    register(HostileNames, name="hostile-names")
    register(SparseClasses, name="sparse-classes")


@mmbench.hookimpl
def mmbench_register_featurizers(register):
    register(ImageScribble, name="image-scribble")
    register(TextScribble, name="text-scribble")


@mmbench.hookimpl
def mmbench_register_classifiers(register):
    register(InplaceScaler, name="inplace-scaler")
    register(LabelShifter, name="label-shifter")
    register(Honest, name="honest")
    register(Tagged, name="tagged")
    register(Logits, name="logits")
    register(Unnormalized, name="unnormalized")
    register(Raises, name="raises")


@mmbench.hookimpl
def mmbench_register_fusions(register):
    register(ViewScribble, name="view-scribble")
'''


def install(site: Path, version: str = "0.1.0") -> Path:
    """(Re)install the distribution at ``version`` into ``site`` (a folder on PYTHONPATH)."""
    site.mkdir(parents=True, exist_ok=True)
    for old in site.glob(f"{MODULE}-*.dist-info"):
        shutil.rmtree(old)
    (site / f"{MODULE}.py").write_text(CODE)
    info = site / f"{MODULE}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[mmbench]\nmisbehave = {MODULE}\n")
    return site


def mmbench(site: Path, *args: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``mmbench ARGS...`` in a child process that sees the plugins installed in ``site``."""
    return subprocess.run([sys.executable, "-m", "mmbench.cli", *map(str, args)],
                          capture_output=True, text=True, env={**env_with(site), **(env or {})},
                          cwd=cwd, timeout=300)
