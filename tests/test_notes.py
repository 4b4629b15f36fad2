"""``notes(params)`` of fusions and classifiers mark their rows in the leaderboard, the report
and the exports, as a featurizer's do; and ``mmbench report`` prints no matplotlib warnings."""

from __future__ import annotations

import base64
import csv
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mmbench
from mmbench.cli import main
from mmbench.protocols import FusionBase, missing_rows
from mmbench.results import ResultStore
from mmbench.testing import registered

OWN_HEAD = "own softmax head: the classifier is not used"


class OwnHead(FusionBase):
    """Concatenates the views and fits a logistic regression of its own (a softmax head)
    instead of the cell's classifier.

    Missing modality: its block is zeros.

    :param C: inverse regularization of the head.
    """

    level = "feature"
    min_modalities = 2

    def __init__(self, *, C: float = 1.0) -> None:
        self.C = C

    @classmethod
    def notes(cls, params: dict[str, Any]) -> list[str]:
        return [OWN_HEAD]

    def _x(self, views: Any) -> np.ndarray:
        blocks = [np.where(missing_rows(views[m])[:, None], 0.0, views[m]) for m in sorted(views)]
        return np.hstack(blocks)

    def fit(self, views: Any, y: np.ndarray, make_classifier: Any) -> OwnHead:
        self._set_classes(y)
        self.head_ = LogisticRegression(C=self.C, max_iter=300).fit(self._x(views), y)
        return self

    def predict_proba(self, views: Any) -> np.ndarray:
        return self._full_proba(self.head_, self._x(views))


class NotedLogReg(LogisticRegression):
    """Logistic regression whose rows say it ran unregularized when ``C`` is large."""

    @classmethod
    def notes(cls, params: dict[str, Any]) -> list[str]:
        return ["nearly unregularized"] if params.get("C", 1.0) >= 100 else []


class Plugin:
    @staticmethod
    @mmbench.hookimpl
    def mmbench_register_fusions(register):  # type: ignore[no-untyped-def]
        register(OwnHead, name="own-head")

    @staticmethod
    @mmbench.hookimpl
    def mmbench_register_classifiers(register):  # type: ignore[no-untyped-def]
        register(NotedLogReg, name="noted-logreg")


SUITE = """
name = "notes"
results_dir = "{tmp}/results"
cache_dir = "{tmp}/cache"
seeds = [0, 1]

[[datasets]]
name = "synthetic"
params = {{ n = 90 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 32, min_df = 1 }}

[[fusions]]
name = "own-head"

[[fusions]]
name = "late-weighted"
params = {{ alpha = [0.5, 1.0] }}

[[classifiers]]
name = "noted-logreg"
params = {{ C = [1.0, 100.0], max_iter = 300 }}
"""


@pytest.fixture(scope="module")
def noted_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("notes")
    suite = tmp / "notes.toml"
    suite.write_text(SUITE.format(tmp=tmp))
    with registered(Plugin(), "notes-plugin"):
        assert main(["run", str(suite)]) == 0
        yield tmp / "results" / "notes"


def test_fusion_and_classifier_notes_mark_the_exports(noted_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "board.csv"
    assert main(["export", str(noted_run), "--format", "csv", "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    fusions = {r["fusion"] for r in rows}
    assert f"own-head ({OWN_HEAD})" in fusions
    assert "late-weighted(alpha=1.0) (image alone)" in fusions
    assert "late-weighted(alpha=0.5)" in fusions  # no note, no mark
    classifiers = {r["classifier"] for r in rows}
    assert classifiers == {"noted-logreg(C=1.0, max_iter=300)",
                           "noted-logreg(C=100.0, max_iter=300) (nearly unregularized)"}


def test_notes_mark_the_leaderboard_and_the_report(noted_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["leaderboard", str(noted_run), "--columns", "accuracy"]) == 0
    board = capsys.readouterr().out
    assert "late-weighted(alpha=1.0) (image alone)" in board and f"own-head ({OWN_HEAD})" in board
    assert "noted-logreg(C=100.0, max_iter=300) (nearly unregularized)" in board
    assert main(["export", str(noted_run), "--format", "markdown"]) == 0
    assert f"own-head ({OWN_HEAD})" in capsys.readouterr().out
    html = tmp_path / "report.html"
    assert main(["report", str(noted_run), "-o", str(html)]) == 0
    text = html.read_text()
    assert f"own-head ({OWN_HEAD})" in text and "late-weighted(alpha=1.0) (image alone)" in text


def test_the_record_keeps_the_notes(noted_run: Path) -> None:
    import json

    records = [json.loads(p.read_text()) for p in (noted_run / "cells").glob("*.json")]
    own = [r for r in records if r["fusion"]["name"] == "own-head"]
    assert own and all(r["fusion"]["notes"] == [OWN_HEAD] for r in own)


def test_report_prints_no_matplotlib_warnings(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Class names outside matplotlib's font (CJK, emoji) are drawn by the browser from the
    SVG text; the report says nothing about glyphs."""
    from report_kit import _variant, write_cell

    store = ResultStore(tmp_path / "results")
    names = {"class_names": ["猫", "犬", "🚢"]}
    for seed in range(2):
        write_cell(store, f"img{seed}", _variant("unimodal", {"modality": "image"}), "unimodal",
                   ["image"], seed, 0.6, extra=names)
        write_cell(store, f"cat{seed}", _variant("concat"), "feature", ["image", "text"], seed,
                   0.8, extra=names)
    store.write_manifest({"suite": "cjk", "suite_text": 'name = "cjk"\n', "plugins": {}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["report", str(tmp_path / "results"), "-o", str(tmp_path / "r.html")]) == 0
    assert [str(w.message) for w in caught] == []
    captured = capsys.readouterr()
    assert "warning" not in captured.err.lower() and "Glyph" not in captured.out
    figures = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)",
                         (tmp_path / "r.html").read_text())
    assert any("猫" in base64.b64decode(f).decode() for f in figures)  # drawn as SVG text


def test_notes_of_a_plugin_without_notes_are_empty() -> None:
    from mmbench.plan import Variant
    from mmbench.plugins import get_catalog
    from mmbench.runner import variant_notes

    entry = get_catalog()["fusion"].get("concat")
    assert variant_notes(entry, Variant.of("fusion", "concat", {})) == {}
    entry = get_catalog()["fusion"].get("weighted-sum")
    assert variant_notes(entry, Variant.of("fusion", "weighted-sum", {"alpha": 0})) == {
        "notes": ["image unused"]}
