"""Featurizers on any modality of their kind (``tfidf`` on ``title``, ``hog-color`` on
``photo``), the ``numeric`` featurizer on real tables (NaN, strings, unseen categories),
modality checks with did-you-mean, three-modality suites, and robustness by kind."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO
from rows_kit import CALLS, Rows, numeric_table, rows_plugin  # noqa: F401 (fixture)

from mmbench.cache import FeatureCache
from mmbench.cli import main
from mmbench.featurize import FeatureProvider
from mmbench.plan import Variant
from mmbench.plugins import get_catalog
from mmbench.protocols import MultimodalData
from mmbench.robustness import corrupt, corruption_rng
from mmbench.testing import check_featurizer

THREE = '{ photo = "image", title = "text", tabular = "numeric" }'
SUITE = """
name = "g"
seeds = [0]

[[datasets]]
name = "rows"
params = {{ sizes = [[24, 24, 24]], modalities = {mods}{extra} }}

[[featurizers]]
name = "hog-color"
params = {{ modality = "photo", pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ modality = "title", min_df = 1 }}

[[featurizers]]
name = "numeric"
{featurizer}
[[fusions]]
name = "concat"
{fusion}
[[classifiers]]
name = "logreg"
"""


def write(write_suite, mods: str = THREE, extra: str = "", featurizer: str = "",  # type: ignore[no-untyped-def]
          fusion: str = "", body: str = "") -> Path:
    return write_suite(SUITE.format(mods=mods, extra=extra, featurizer=featurizer,
                                    fusion=fusion) + body)


def one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, out, err)
    assert "Traceback" not in out + err
    return lines[0]


def records(path: Path) -> list[dict]:
    return [json.loads(p.read_text())
            for p in sorted((path.parent / "results" / "g" / "cells").glob("*.json"))]


# ------------------------------------------------------------------------- numeric featurizer
def test_numeric_fits_medians_indicators_scaling_and_categories_on_train_only() -> None:
    from mmbench_features import Numeric

    y = np.repeat(np.arange(3), 30)
    table = numeric_table(y)
    table.loc[5, "colour"] = "purple"  # a category only in the test part
    train, test = table.iloc[10:].reset_index(drop=True), table.iloc[:10].reset_index(drop=True)
    feat = Numeric().fit(train)
    names = list(feat.transformer_.get_feature_names_out())
    x = feat.transform(test)
    assert x.dtype == np.float32 and np.isfinite(x).all()
    col = {n.split("__")[-1]: i for i, n in enumerate(names)}
    price = train["price"].fillna(train["price"].median())  # imputed, then standardized
    # a missing test price becomes the training median, standardized with training statistics
    z = (train["price"].median() - price.mean()) / price.std(ddof=0)
    missing = test["price"].isna().to_numpy()
    assert missing.any()
    assert np.allclose(x[missing, col["price"]], z, atol=1e-5)
    assert np.array_equal(x[:, col["missingindicator_price"]], missing.astype(np.float32))
    assert "missingindicator_rooms" not in col  # no missing rooms in training: no indicator
    # string column: one-hot, the missing cell its own category, an unseen one all zeros
    onehot = [i for n, i in col.items() if n.startswith("colour_")]
    assert "colour_(missing)" in col
    assert x[5, onehot].sum() == 0 and (x[[i for i in range(10) if i != 5]][:, onehot]
                                        .sum(axis=1) == 1).all()
    # fitted on train only: other training rows, other features for the same test rows
    other = Numeric().fit(table.iloc[40:]).transform(test)
    assert not np.allclose(other[:, col["price"]], x[:, col["price"]])


def test_numeric_passes_the_featurizer_checks_on_a_real_table() -> None:
    from mmbench_features import Numeric

    y = np.repeat(np.arange(3), 20)
    data = MultimodalData({"tabular": numeric_table(y)}, y, ("a", "b", "c"), "t")
    assert check_featurizer(Numeric(), data=data).shape[1] == 8


def test_numeric_reads_a_2d_array_and_refuses_bad_columns() -> None:
    from mmbench_features import Numeric

    from mmbench.errors import UserError

    x = np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 4.0]])
    assert Numeric().fit(x).transform(x).shape == (3, 3)  # two columns + one indicator
    with pytest.raises(UserError, match="column 'prise' is not in modality 'tabular' .*did you "
                                        "mean 'price'"):
        Numeric(columns=["prise"]).fit(numeric_table(np.zeros(5, int)))
    dates = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=3)})
    with pytest.raises(UserError, match="column 'when' holds dates/times"):
        Numeric().fit(dates)


# ------------------------------------------------------------------------- runs on any modality
def doc_section() -> str:
    text = (REPO / "docs" / "featurizers.md").read_text()
    return text.split("## Any modality of their kind", 1)[1].split("\n## ", 1)[0]


def test_three_modality_suite_runs_each_featurizer_on_its_named_modality(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """The docs' block, as it is, on a dataset with a photo, a title and a table."""
    (block,) = re.findall(r"```toml\n(.*?)```", doc_section(), re.S)
    path = write_suite(f"""
        name = "g"
        [[datasets]]
        name = "rows"
        params = {{ sizes = [[24, 24, 24]], modalities = {THREE} }}
        [[classifiers]]
        name = "logreg"
        """ + "\n" + textwrap.indent(block, " " * 8))
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    recs = records(path)
    by_fusion = {(r["fusion"]["name"], tuple(sorted(r["featurizers"]))): r for r in recs}
    assert set(by_fusion) == {("unimodal", ("photo",)), ("unimodal", ("title",)),
                              ("unimodal", ("tabular",)), ("concat", ("photo", "tabular", "title")),
                              ("cca", ("photo", "title"))}
    concat = by_fusion[("concat", ("photo", "tabular", "title"))]
    assert concat["featurizers"]["title"]["name"] == "tfidf"
    assert concat["dims"]["tabular"] == 8  # price, rooms, const, indicator, 4 colour columns
    # the table carries the label (price = 10 * label + noise): its row learns
    assert by_fusion[("unimodal", ("tabular",))]["metrics"]["accuracy"] > 0.6


def test_pairwise_fusion_on_three_modalities_says_how_to_restrict_it(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write(write_suite, fusion='params = { }\n', body='\n[[fusions]]\nname = "cca"\n')
    line = one_line(["validate", str(path)], capsys)
    shown = ("fusion 'cca' fuses exactly two modalities, got 3 (photo, tabular, title); "
             "restrict it with modalities = [...]")
    assert shown in line and shown in " ".join(doc_section().split())


@pytest.mark.parametrize("change, message", [
    (("modality = \"title\", min_df", "modality = \"titel\", min_df"),
     "featurizers[1].params.modality (line 16): featurizer 'tfidf' reads modality 'titel', which "
     "dataset 'rows' does not have (it has photo, title, tabular); did you mean 'title'? (text "
     "modalities: title); choose one with the featurizer's modality parameter"),
    (("modality = \"title\", min_df", "modality = \"photo\", min_df"),
     "featurizer 'tfidf' reads text modalities but 'photo' of dataset 'rows' is an image "
     "modality (text modalities: title)"),
    (("name = \"numeric\"\n", "name = \"numeric\"\nparams = { modality = \"title\" }\n"),
     "featurizer 'numeric' reads numeric modalities but 'title' of dataset 'rows' is a text "
     "modality (numeric modalities: tabular)"),
    (("modality = \"photo\", pixels", "modality = \"\", pixels"),
     "modality must be a modality name such as 'image', got ''"),
])
def test_bad_modality_is_one_line_at_validate(change: tuple[str, str], message: str,
                                              write_suite, rows_plugin: None,  # type: ignore[no-untyped-def]
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = write(write_suite)
    path.write_text(path.read_text().replace(*change))
    line = one_line(["validate", str(path)], capsys)
    assert message in line, line
    if "is an image modality" in message:  # the docs quote this one
        assert message in " ".join(doc_section().split())


def test_kind_unknown_before_loading_is_checked_at_load_before_featurizing(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write(write_suite, extra=", kinds_known = false",
                 featurizer='params = { modality = "title" }\n')
    path.write_text(path.read_text().replace('name = "tfidf"', 'name = "counting"').replace(
        ', min_df = 1', ''))
    assert main(["validate", str(path)]) == 0  # 'title' may be anything until loaded
    capsys.readouterr()
    line = one_line(["run", str(path)], capsys)
    assert ("featurizer numeric(modality='title') reads numeric modalities but 'title' of "
            "dataset rows(kinds_known=False, ") in line
    assert CALLS == [] and records(path) == []


def test_bad_column_through_the_cli(write_suite, rows_plugin: None,  # type: ignore[no-untyped-def]
                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write(write_suite, featurizer='params = { columns = [["prise", "rooms"]] }\n')
    line = one_line(["run", str(path)], capsys)
    assert "numeric: column 'prise' is not in modality 'tabular'" in line
    assert "did you mean 'price'?" in line


def test_cifar10_images_on_a_renamed_modality_match_the_plain_featurizer() -> None:
    """Real CIFAR-10 images under ``picture``: hog-color, pixels and EfficientNet-Lite0 read
    them by name and give what they give on the images themselves."""
    data = Rows(sizes=[3] * 4, modalities={"picture": "image", "title": "text"}, cifar=3).load()
    catalog = get_catalog()
    provider = FeatureProvider(FeatureCache(Path("/nonexistent-unused")), catalog, {})
    provider.cache.get = lambda key: None  # type: ignore[method-assign]
    provider.cache.put = lambda *a, **k: None  # type: ignore[method-assign]
    train, test = np.arange(0, 12, 2), np.arange(1, 12, 2)
    for name, params in (("hog-color", {"pixels_per_cell": 8}), ("pixels", {"stride": 4}),
                         ("efficientnet-lite0", {"image_size": 32})):
        variant = Variant.of("featurizer", name, {"modality": "picture", **params})
        xtr, xte = provider.features(variant, data, train, test)
        plain = catalog["featurizer"].get(name).cls(**params)
        assert np.allclose(xte, plain.transform(data.modalities["picture"][test]), atol=1e-5)
        assert xtr.shape[0] == 6 and xtr.shape[1] == xte.shape[1]


def test_sbert_on_a_question_modality() -> None:
    pytest.importorskip("sentence_transformers")
    from mmbench_sbert import SentenceEmbedding

    questions = ["what colour is the shape?", "is there a circle?", "what shape is it?"]
    data = MultimodalData({"question": questions}, np.array([0, 1, 0]), ("a", "b"), "q")
    feat = SentenceEmbedding(modality="question")
    assert feat.modality == "question"
    out = check_featurizer(feat, data=data)
    assert out.shape == (3, 384)


# ------------------------------------------------------------------------- robustness by kind
def test_text_corruptions_reach_every_text_modality_and_numeric_ones_tables(
        write_suite, rows_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write(write_suite, body="\n[robustness]\ntext_missing = [1.0]\n"
                                   "numeric_missing = [1.0]\nnumeric_noise = [2.0]\n")
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    recs = {tuple(sorted(r["featurizers"])): r for r in records(path)
            if r["fusion"]["name"] == "unimodal"}
    chance = 1 / 3
    title = recs[("title",)]["robustness"]
    assert title["text_missing"]["accuracy"][-1] == pytest.approx(chance, abs=0.01)  # the prior
    assert "text_missing" not in recs[("photo",)]["robustness"] or (
        recs[("photo",)]["robustness"]["text_missing"]["accuracy"][-1]
        == recs[("photo",)]["metrics"]["accuracy"])
    table = recs[("tabular",)]["robustness"]
    assert table["numeric_missing"]["accuracy"][-1] == pytest.approx(chance, abs=0.01)
    assert table["numeric_noise"]["accuracy"][-1] < recs[("tabular",)]["metrics"]["accuracy"]


def test_numeric_noise_leaves_missing_cells_and_strings() -> None:
    table = numeric_table(np.repeat(np.arange(3), 10))
    noisy = corrupt("numeric_noise", table, 1.0, corruption_rng("numeric_noise", 1.0, 0))
    assert noisy["price"].isna().equals(table["price"].isna())
    assert noisy["colour"].equals(table["colour"])
    assert not np.allclose(noisy["rooms"], table["rooms"])
    assert table["rooms"].dtype.kind == "i"  # the dataset's own table is left as it was


# ------------------------------------------------------------------------- the test kit by kind
def test_check_dataset_checks_samples_by_kind_and_instance_modalities() -> None:
    from mmbench.testing import check_dataset

    data = check_dataset(Rows(modalities={"photo": "image", "title": "text", "tabular": "numeric"}))
    assert data.kind("tabular") == "numeric"

    class BadTitle(Rows):
        def load(self) -> MultimodalData:
            data = super().load()
            mods = {**data.modalities, "title": [1] * len(data)}
            return MultimodalData(mods, data.y, data.class_names, data.fingerprint,
                                  kinds=dict(data.kinds))

    with pytest.raises(AssertionError, match="modality 'title' holds int at index 0"):
        check_dataset(BadTitle(modalities={"photo": "image", "title": "text"}))

    class Misdeclared(Rows):
        kinds = {"title": "numeric"}

    with pytest.raises(AssertionError, match="kinds declares 'title' as 'numeric' but load"):
        check_dataset(Misdeclared(modalities={"photo": "image", "title": "text"},
                                  kinds_known=False))


def test_a_modality_sweep_gives_one_variant_per_modality(write_suite, rows_plugin: None) -> None:  # type: ignore[no-untyped-def]
    from mmbench.plan import plan_suite
    from mmbench.suite import load_suite

    path = write_suite("""
        name = "g"
        [[datasets]]
        name = "rows"
        params = { modalities = { photo = "image", title = "text", text = "text" } }
        [[featurizers]]
        name = "tfidf"
        params = { modality = ["title", "text"], min_df = 1 }
        [[classifiers]]
        name = "logreg"
        """)
    plan = plan_suite(load_suite(path), get_catalog())
    assert sorted(c.featurizers[0][0] for c in plan.cells) == ["text", "title"]
    assert {dict(c.featurizers)[m].kwargs["modality"] for c in plan.cells
            for m in c.modalities} == {"text", "title"}
