"""Splits: grouped stratified and k-fold splits, the dataset's predefined split, impossible
splits refused before featurizing (naming the class), the train/test duplicates audit, and the
inner splits for tuning."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from rows_kit import CALLS, rows_plugin  # noqa: F401 (fixture)
from sklearn.model_selection import train_test_split

from mmbench.cli import main
from mmbench.splits import (SplitError, check_splits, group_fraction, inner_splits, make_split,
                            split_indices)
from mmbench.stored import load_results

SUITE = """
name = "s"
seeds = [0, 1]

[[datasets]]
name = "rows"
params = {{ {params} }}
split = {split}

[[featurizers]]
name = "counting"

[[featurizers]]
name = "pixels"
params = {{ stride = 4 }}

[[fusions]]
name = "concat"

[[classifiers]]
name = "logreg"
"""


def suite(write_suite, params: str = "", split: str = '{ method = "stratified" }'):  # type: ignore[no-untyped-def]
    return write_suite(SUITE.format(params=params, split=split))


def run_one_line_error(path: Path, capsys: pytest.CaptureFixture[str],
                       command: str = "run") -> str:
    code = main([command, str(path)])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    assert "Traceback" not in out + err
    return lines[0]


def documented() -> list[str]:
    """The example output lines of docs/evaluation.md's Splits section and duplicates audit."""
    text = (REPO / "docs" / "evaluation.md").read_text()
    blocks = re.findall(r"```\w*\n(.*?)```", text, re.S)
    return [without_counts(ln) for b in blocks for ln in b.splitlines()
            if ln.startswith(("error: dataset", "WARNING train/test", "invalid suite"))]


def without_counts(line: str) -> str:
    """``line`` without the run's closing count (". 6 cell(s) not recorded, ...")."""
    return re.sub(r"\. \d+ cell\(s\) not recorded.*$", "", line)


def records(path: Path) -> list[dict]:
    cells = path.parent / "results" / "s" / "cells"
    return [json.loads(p.read_text()) for p in sorted(cells.glob("*.json"))]


# ------------------------------------------------------------------------- grouped splits
def grouped_labels(n_groups: int = 60, per_group: int = 3, n_classes: int = 3,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(n_groups), per_group)
    y = rng.integers(0, n_classes, n_groups)[groups]  # one label per group (as VQA answers may not)
    flip = rng.random(len(y)) < 0.2
    y[flip] = rng.integers(0, n_classes, flip.sum())
    return y, groups


@pytest.mark.parametrize("split", [{"method": "stratified", "test_size": 0.2},
                                   {"method": "stratified", "test_size": 0.3},
                                   {"method": "kfold", "k": 4}])
def test_grouped_splits_never_straddle_and_keep_the_classes(split: dict) -> None:
    y, groups = grouped_labels()
    found = check_splits(y, ["a", "b", "c"], split, [0, 1, 2], groups)
    assert len(found) == 3 * (split.get("k") or 1)
    for (seed, fold), (train, test) in found.items():
        assert not set(groups[train]) & set(groups[test]), (seed, fold)
        assert len(train) + len(test) == len(y) and not set(train) & set(test)
        assert set(y[test]) == set(y[train]) == {0, 1, 2}
    if split["method"] == "kfold":  # the folds' test parts partition the rows
        tests = np.concatenate([found[(0, f)][1] for f in range(4)])
        assert np.array_equal(np.sort(tests), np.arange(len(y)))
    else:
        share = np.mean([len(te) / len(y) for _, te in found.values()])
        assert abs(share - split["test_size"]) < 0.06, share
    again = check_splits(y, ["a", "b", "c"], split, [0], groups)
    assert np.array_equal(again[(0, 0)][1], found[(0, 0)][1])  # a function of the seed only
    assert not np.array_equal(found[(0, 0)][1], found[(1, 0)][1])


def test_group_fraction_picks_the_folds_closest_to_test_size() -> None:
    assert group_fraction(0.2, 100) == (1, 5)
    assert group_fraction(0.25, 100) == (1, 4)
    assert group_fraction(0.3, 100) == (3, 10)
    assert group_fraction(0.3, 15) == (1, 3)  # at least 5 groups a fold beyond 5 folds
    assert group_fraction(0.2, 4) == (1, 4)  # few groups: as close as they allow
    assert group_fraction(0.5, 4) == (1, 2)


def test_without_groups_the_split_is_the_stratified_split_it_always_was() -> None:
    y = np.repeat(np.arange(4), 25)
    train, test = make_split(y, {"method": "stratified", "test_size": 0.2}, seed=3)
    ref_train, ref_test = train_test_split(np.arange(100), test_size=0.2, stratify=y,
                                           random_state=3)
    assert np.array_equal(test, np.sort(ref_test)) and np.array_equal(train, np.sort(ref_train))


def test_predefined_split_straddling_a_group_is_refused() -> None:
    y = np.repeat(np.arange(2), 10)
    mask = np.arange(20) % 4 == 0
    with pytest.raises(SplitError, match=r"group 0 has rows on both sides of the predefined "
                                         r"split \(1 of its 2 rows are test rows; 5 group\(s\)"):
        check_splits(y, ["a", "b"], {"method": "predefined"}, [0], np.arange(20) // 2, mask)
    groups = np.where(mask, 100, np.arange(20))  # the test rows are one group: fine
    assert check_splits(y, ["a", "b"], {"method": "predefined"}, [0], groups, mask)


def test_predefined_split_is_the_datasets_own_for_every_seed() -> None:
    y = np.repeat(np.arange(2), 10)
    mask = np.arange(20) % 4 == 0
    (tr0, te0), = split_indices(y, {"method": "predefined"}, 0, predefined_test=mask)
    (tr1, te1), = split_indices(y, {"method": "predefined"}, 7, predefined_test=mask)
    assert np.array_equal(te0, np.flatnonzero(mask)) and np.array_equal(te0, te1)
    assert np.array_equal(tr0, np.flatnonzero(~mask)) and np.array_equal(tr0, tr1)


# ------------------------------------------------------------------------- impossible splits
@pytest.mark.parametrize("y, split, groups, message", [
    (np.repeat([0, 1, 2], [5, 1, 5]), {"method": "stratified", "test_size": 0.2}, None,
     "class 'bird' has 1 sample; a stratified split needs at least 2"),
    (np.repeat([0, 1, 2], [9, 3, 9]), {"method": "kfold", "k": 5}, None,
     "class 'bird' has 3 samples; a stratified 5-fold split needs at least 5"),
    (np.repeat([0, 1, 2], [30, 30, 30]), {"method": "stratified", "test_size": 0.02}, None,
     "test_size = 0.02 leaves 2 test samples for 3 classes, so some class gets no test sample"),
    (np.repeat([0, 1, 2], [40, 2, 40]), {"method": "stratified", "test_size": 0.05}, None,
     "class 'bird' (2 samples) gets no test sample (seed 0): raise test_size (now 0.05)"),
    (np.repeat([0, 1, 2], 8), {"method": "kfold", "k": 5}, np.arange(24) // 6,
     "the dataset has 4 groups; a grouped 5-fold split needs at least 5"),
    (np.repeat([0, 1, 2], 8), {"method": "stratified", "test_size": 0.2},
     np.r_[np.arange(8) // 2, np.full(8, 10), np.arange(8) // 2 + 20],
     "class 'bird' appears in 1 group (8 samples); a grouped train/test split needs it in at "
     "least 2"),
])
def test_impossible_splits_name_the_class(y: np.ndarray, split: dict, groups: np.ndarray | None,
                                          message: str) -> None:
    with pytest.raises(SplitError) as err:
        check_splits(y, ["cat", "bird", "dog"], split, [0], groups)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("params, split, message", [
    ("sizes = [[6, 1, 6]]", '{ method = "stratified" }',
     "dataset rows(sizes=[6, 1, 6]), split stratified(test_size=0.2): class 'bird' has 1 "
     "sample; a stratified split needs at least 2"),
    ("sizes = [[12, 4, 12]]", '{ method = "kfold", k = 5 }',
     "class 'bird' has 4 samples; a stratified 5-fold split needs at least 5"),
    ("sizes = [[30, 30, 30]]", '{ method = "stratified", test_size = 0.01 }',
     "test_size = 0.01 leaves 1 test sample for 3 classes"),
    ("sizes = [[8, 8, 8]], group_size = 4", '{ method = "kfold", k = 3 }',
     "class 'cat' appears in 2 groups (8 samples); a grouped 3-fold split needs it in at least 3"),
    ("sizes = [[10, 10]]", '{ method = "predefined" }',
     "split = { method = \"predefined\" } but the dataset has no predefined test split"),
])
def test_impossible_split_through_the_cli_before_featurizing(
        params: str, split: str, message: str, write_suite, rows_plugin: None,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    path = suite(write_suite, params, split)
    line = run_one_line_error(path, capsys)
    assert message in line, line
    assert without_counts(line) in documented()  # the docs show this very line
    assert CALLS == []  # refused before any featurizer ran
    assert records(path) == []  # nothing recorded


def test_predefined_with_test_size_is_an_invalid_suite(write_suite, rows_plugin: None,  # type: ignore[no-untyped-def]
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = suite(write_suite, "predefined = true", '{ method = "predefined", test_size = 0.3 }')
    line = run_one_line_error(path, capsys, "validate")
    assert 'datasets[0].split (line 9): Value error, method = "predefined" uses the dataset\'s own test ' \
           'rows; remove test_size' in line, line


@pytest.mark.parametrize("command", ["validate", "run"])
def test_cifar10_per_class_1_is_refused_by_validate_naming_a_class(
        command: str, write_suite, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """cifar10 states its class sizes before loading, so even ``validate`` (no data needed)
    finds the impossible split; ``run`` stops there too, before loading anything."""
    path = write_suite("""
        name = "s"
        [[datasets]]
        name = "cifar10"
        params = { per_class = 1, download = false }
        [[featurizers]]
        name = "tfidf"
        [[classifiers]]
        name = "logreg"
        """)
    line = run_one_line_error(path, capsys, command)
    # as the docs show it: the suite named suite.toml, without write_suite's two first lines
    assert line.replace(str(path), "suite.toml").replace("(line 4)", "(line 2)") in documented()
    assert not (path.parent / "results").exists()


def test_a_possible_split_of_a_dataset_with_known_sizes_validates(
        write_suite, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write_suite("""
        name = "s"
        [[datasets]]
        name = "cifar10"
        params = { per_class = 5, download = false }
        split = { method = "kfold", k = 5 }
        [[featurizers]]
        name = "tfidf"
        [[classifiers]]
        name = "logreg"
        """)
    assert main(["validate", str(path)]) == 0, capsys.readouterr()
    path.write_text(path.read_text().replace("k = 5", "k = 6"))
    line = run_one_line_error(path, capsys, "validate")
    assert ("datasets[0].split (line 7): dataset cifar10(download=False, per_class=5), split "
            "kfold(k=6): class 'airplane' has 5 samples; a stratified 6-fold split needs at "
            "least 6") in line, line


# ------------------------------------------------------------------------- runs
def test_predefined_split_run_tests_on_the_datasets_test_rows(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = suite(write_suite, "sizes = [[12, 12, 12]], predefined = true",
                 '{ method = "predefined" }')
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    recs = records(path)
    assert recs and {r["split"]["method"] for r in recs} == {"predefined"}
    assert "test_size" not in recs[0]["split"]
    stored = load_results(path.parent / "results" / "s")
    for rec in recs:
        test_index = stored.predictions(rec["cell_id"])["test_index"]
        assert np.array_equal(test_index, np.arange(0, 36, 4)), rec["seed"]


def test_grouped_kfold_run_keeps_each_group_on_one_side(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from rows_kit import Rows

    path = suite(write_suite, "sizes = [[15, 15, 15]], group_size = 3", '{ method = "kfold", k = 3 }')
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    data = Rows(sizes=[15, 15, 15], group_size=3).load()
    stored = load_results(path.parent / "results" / "s")
    recs = records(path)
    assert len({(r["seed"], r["fold"]) for r in recs}) == 6
    for rec in recs:
        test = stored.predictions(rec["cell_id"])["test_index"]
        train = np.setdiff1d(np.arange(len(data)), test)
        assert not set(data.groups[test]) & set(data.groups[train])


# ------------------------------------------------------------------------- duplicates audit
def test_duplicates_across_train_and_test_are_warned(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = suite(write_suite, "sizes = [[20, 20, 20]], copies = true")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "WARNING train/test duplicates: rows(copies=True, sizes=[20, 20, 20]) [image]" in out
    assert "[text]" in out.split("WARNING train/test duplicates")[-1]
    warning = next(ln for ln in out.splitlines() if ln.startswith("WARNING train/test"))
    assert warning in documented()
    audit = json.loads((path.parent / "results" / "s" / "audit.json").read_text())
    image = next(iter(audit.values()))["duplicates"]["modalities"]["image"]
    # each image is in exactly two rows of one class: a test row's copy is in training unless
    # both copies landed in test
    assert 0 < image["copies"] == image["pinned"] <= image["test_rows"] == 2 * 12


def test_grouped_copies_stay_on_one_side_and_no_warning(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = suite(write_suite, "sizes = [[20, 20, 20]], copies = true, group_size = 2")
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "train/test duplicates" not in out
    audit = json.loads((path.parent / "results" / "s" / "audit.json").read_text())
    assert next(iter(audit.values()))["duplicates"]["modalities"]["image"]["copies"] == 0


def test_duplicates_of_texts_with_other_labels_are_a_note_not_a_warning() -> None:
    from mmbench.duplicates import duplicate_audit
    from mmbench.protocols import MultimodalData

    y = np.array([0, 1] * 10)
    texts = ["what colour is the shape?"] * 20  # one question, many answers: not a leak
    data = MultimodalData({"text": texts}, y, ("no", "yes"), "f")
    report = duplicate_audit(data, {"s": (np.arange(10), np.arange(10, 20))})["text"]
    assert report["copies"] == 10 and report["pinned"] == 0 and report["level"] == "partial"


def test_one_identical_image_warns_a_few_generic_captions_only_note() -> None:
    from mmbench.duplicates import duplicate_audit
    from mmbench.protocols import MultimodalData

    rng = np.random.default_rng(0)
    n = 200
    images = rng.integers(0, 255, (n, 4, 4, 3), dtype=np.uint8)
    images[150] = images[10]  # one picture in train and test
    texts = [f"caption {i}" for i in range(n)]
    for i in range(150, 154):  # 4 of 50 test captions (8%), then 2 (4%)
        texts[i] = texts[i - 140]
    y = np.zeros(n, dtype=np.int64)
    split = {"s": (np.arange(150), np.arange(150, 200))}
    data = MultimodalData({"image": images, "text": texts}, y, ("a",), "f")
    report = duplicate_audit(data, split)
    assert report["image"]["pinned"] == 1 and report["image"]["level"] == "leak"
    assert report["text"]["pinned"] == 4 and report["text"]["level"] == "leak"  # 8% >= 5%
    texts[152:154] = ["new a", "new b"]
    report = duplicate_audit(MultimodalData({"text": texts}, y, ("a",), "f"), split)
    assert report["text"]["pinned"] == 2 and report["text"]["level"] == "partial"  # 4% < 5%


# ------------------------------------------------------------------------- inner splits
def test_inner_splits_respect_groups_and_index_the_training_part() -> None:
    y, groups = grouped_labels(n_groups=90)
    train, _ = make_split(y, {"method": "stratified", "test_size": 0.2}, 0, groups=groups)
    inner = inner_splits(y[train], groups[train], {"method": "kfold", "k": 3}, seed=0)
    assert len(inner) == 3
    for fit, val in inner:
        assert max(fit.max(), val.max()) < len(train)
        assert not set(groups[train][fit]) & set(groups[train][val])
        assert set(y[train][val]) == {0, 1, 2}
    with pytest.raises(SplitError, match="class 'bird' has 1 sample"):
        inner_splits(np.array([0, 0, 0, 2, 2, 2, 1]), None, {"method": "stratified",
                     "test_size": 0.3}, 0, class_names=["cat", "bird", "dog"])
