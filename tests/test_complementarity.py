"""The redundancy/complementarity diagnostic: a real run on a slice of easy-VQA, its stored
``complementarity.json`` recomputed with numpy from the prediction files, and shown under the
leaderboard and in the report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from mmbench import complementarity as comp
from mmbench.leaderboard import print_leaderboard
from mmbench.report.html import write_report
from mmbench.runner import run_suite

pytest.importorskip("easy_vqa")

SUITE = '''
name = "evqa-slice"
seeds = [0, 1]
results_dir = "{results}"
[[datasets]]
name = "easy-vqa"
params = {{ questions_per_split = 300 }}
split = {{ method = "predefined" }}
[[featurizers]]
name = "pixels"
params = {{ stride = 16 }}
[[featurizers]]
name = "tfidf"
[[fusions]]
name = "concat"
[[fusions]]
name = "late-mean"
params = {{ calibrate = "none" }}
[[fusions]]
name = "late-product"
[[classifiers]]
name = "logreg"
params = {{ C = 1.0 }}
'''


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("comp")
    suite = folder / "suite.toml"
    suite.write_text(SUITE.format(results=folder / "results"))
    run_suite(suite, Console(file=io.StringIO()))
    return folder / "results" / "evqa-slice"


def _right(root: Path, record: dict) -> np.ndarray:  # type: ignore[type-arg]
    arrays = np.load(root / "predictions" / f"{record['cell_id']}.npz")
    return arrays["y_pred"] == arrays["y_true"]


def test_stored_diagnostic_recomputed_from_predictions(results: Path) -> None:
    stored = json.loads((results / comp.FILE).read_text())
    records = [json.loads(p.read_text()) for p in sorted((results / "cells").glob("*.json"))]
    by = {}
    for r in records:
        mods = "+".join(sorted(r["featurizers"]))
        fusion = "unimodal" if r["level"] == "unimodal" else r["fusion"]["name"]
        by.setdefault((mods, fusion), {})[r["seed"]] = _right(results, r)
    seeds = [0, 1]
    img = np.concatenate([by[("image", "unimodal")][s] for s in seeds])
    txt = np.concatenate([by[("text", "unimodal")][s] for s in seeds])
    union = img | txt
    [entry] = stored["entries"]
    assert entry["modalities"] == ["image", "text"] and entry["n"] == len(img)
    for key, value in (("a_only", img & ~txt), ("b_only", ~img & txt), ("both", img & txt),
                       ("neither", ~union), ("union", union)):
        assert entry[key] == pytest.approx(value.mean()), key
    fusions = {f["fusion"].split("(")[0]: f for f in entry["fusions"]}
    assert set(fusions) == {"concat", "late-mean", "late-product"}
    for name, f in fusions.items():
        right = np.concatenate([by[("image+text", name)][s] for s in seeds])
        assert f["rescued"] == pytest.approx(right[~union].mean())
        assert f["lost"] == pytest.approx((~right[union]).mean())
        assert f["fusion_only"] == pytest.approx((right & ~union).mean())
    # easy-VQA needs both modalities: some fusion row gets answers neither modality gets
    best_only = max(f["fusion_only"] for f in entry["fusions"])
    assert best_only > 0, entry["message"]
    assert entry["verdict"] == ("complementary" if best_only >= comp.COMPLEMENTARY_SHARE
                                else "redundant" if entry["ratio"] >= comp.REDUNDANT_RATIO
                                else "partly complementary")
    assert entry["ratio"] == pytest.approx(max(img.mean(), txt.mean()) / union.mean())
    assert entry["message"] in comp.lines(stored["entries"])


def test_leaderboard_footer_and_report_section(results: Path, tmp_path: Path) -> None:
    out = io.StringIO()
    print_leaderboard(results, Console(file=out, width=400))
    text = out.getvalue()
    line = next(x for x in text.splitlines() if x.startswith("modalities:"))
    assert "complementary" in line and "union" in line
    html = write_report(results, tmp_path / "r.html").read_text()
    assert 'id="complementarity"' in html and "rescued (of neither)" in html


def test_a_pair_without_fusion_rows_is_not_called_partly_complementary() -> None:
    # a suite fusing only some featurizer pairs leaves unimodal pairs with no fusion row:
    # "fusion finds 0.0% beyond them" would be a claim about rows that were never run
    entry = {"dataset": "d", "classifier": "logreg", "modalities": ["image", "text"],
             "featurizers": {"image": "hog", "text": "tfidf"}, "a": 0.3, "b": 0.6,
             "a_only": 0.1, "b_only": 0.4, "both": 0.2, "neither": 0.3, "union": 0.7,
             "best_single": 0.6, "fusions": []}
    got = comp.verdict(entry)
    assert got["verdict"] == "undecided" and "no fusion row" in got["message"]
    assert "beyond them" in got["message"] and "0.0%" not in got["message"]
    redundant = {**entry, "a": 0.69, "best_single": 0.69}
    assert comp.verdict(redundant)["verdict"] == "redundant"
    with_rows = {**entry, "fusions": [{"fusion": "concat", "fusion_only": 0.02,
                                       "rescued": 0.07}]}
    assert comp.verdict(with_rows)["verdict"] == "partly complementary"
