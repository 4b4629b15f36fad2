"""The built-in ``table`` and ``hf`` datasets on real files made from CIFAR-10 JPEGs: every
layout, mixed sizes, groups, a predefined split, numeric columns, three modalities, and every
bad input through the command line (one line, exit 2, nothing recorded)."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cifar_slice import cifar_jpegs
from PIL import Image

from mmbench.cli import main
from mmbench.errors import UserError
from mmbench_tables import HuggingFace, Table

CLASSES = ("airplane", "automobile", "bird")


@pytest.fixture
def rows(tmp_path: Path) -> pd.DataFrame:
    """12 rows per class for 3 classes: image path (relative to tmp_path), caption, label,
    two numeric columns, a group (pairs of rows) and a train/test split."""
    files = [(p, c) for p, c in cifar_jpegs(12, tmp_path / "images") if c in CLASSES]
    n = len(files)
    return pd.DataFrame({
        "file_name": [p.relative_to(tmp_path).as_posix() for p, _ in files],
        "caption": [f"a small picture of a {c} number {i}" for i, (_, c) in enumerate(files)],
        "headline": [f"{c} seen from afar" for _, c in files],
        "label": [c for _, c in files],
        "age": np.arange(n, dtype=float),
        "kind": ["old" if i % 3 else "new" for i in range(n)],
        "group": [i // 2 for i in range(n)],
        "split": ["test" if i % 6 in (0, 1) else "train" for i in range(n)],
    })


WRITERS: dict[str, Callable[[pd.DataFrame, Path], Path]] = {
    "csv": lambda df, d: (df.to_csv(d / "t.csv", index=False), d / "t.csv")[1],
    "tsv": lambda df, d: (df.to_csv(d / "t.tsv", sep="\t", index=False), d / "t.tsv")[1],
    "jsonl": lambda df, d: (df.to_json(d / "t.jsonl", orient="records", lines=True),
                            d / "t.jsonl")[1],
    "parquet": lambda df, d: (df.to_parquet(d / "t.parquet"), d / "t.parquet")[1],
    "csv-bom": lambda df, d: ((d / "b.csv").write_text(df.to_csv(index=False),
                                                       encoding="utf-8-sig"), d / "b.csv")[1],
    "folder-metadata.csv": lambda df, d: (df.to_csv(d / "metadata.csv", index=False), d)[1],
    "folder-metadata.jsonl": lambda df, d: (df.to_json(d / "metadata.jsonl", orient="records",
                                                       lines=True), d)[1],
}


def test_every_table_layout_gives_the_same_data(rows: pd.DataFrame, tmp_path: Path) -> None:
    loaded = {}
    for name, writer in WRITERS.items():
        for f in ("metadata.csv", "metadata.jsonl"):
            (tmp_path / f).unlink(missing_ok=True)
        loaded[name] = Table(path=str(writer(rows, tmp_path)), numeric_columns=["age", "kind"],
                             group_column="group", split_column="split").load()
    first = loaded["csv"]
    assert first.class_names == CLASSES and first.kinds == {
        "image": "image", "text": "text", "tabular": "numeric"}
    assert first.modalities["image"].shape == (36, 32, 32, 3)
    assert first.modalities["text"][4] == rows.caption[4]
    want = np.stack([np.asarray(Image.open(tmp_path / f).convert("RGB")) for f in rows.file_name])
    np.testing.assert_array_equal(first.modalities["image"], want)
    np.testing.assert_array_equal(first.groups, rows.group.to_numpy())
    np.testing.assert_array_equal(first.predefined_test, (rows.split == "test").to_numpy())
    assert {d.fingerprint for d in loaded.values()} == {first.fingerprint}  # content identity


def test_image_folder_labels_from_sub_folders(rows: pd.DataFrame, tmp_path: Path) -> None:
    rows.drop(columns=["label"]).to_csv(tmp_path / "metadata.csv", index=False)
    data = Table(path=str(tmp_path)).load()
    assert data.class_names == CLASSES
    np.testing.assert_array_equal(data.y, rows.label.map(CLASSES.index).to_numpy())


def test_explicit_modalities_three_text_and_numeric(rows: pd.DataFrame, tmp_path: Path) -> None:
    rows.to_parquet(tmp_path / "t.parquet")
    t = Table(path=str(tmp_path / "t.parquet"), modalities={
        "image": "file_name", "text": "caption", "title": "headline", "tabular": ["age"]},
        class_names=["bird", "airplane", "automobile"])
    assert t.modalities == ("image", "text", "title", "tabular")
    assert t.kinds["title"] == "text"
    data = t.load()
    assert data.class_names == ("bird", "airplane", "automobile") and data.y[0] == 1
    assert list(data.modalities["tabular"].columns) == ["age"]


def test_changed_file_changes_the_identity(rows: pd.DataFrame, tmp_path: Path) -> None:
    path = WRITERS["csv"](rows, tmp_path)
    before = Table(path=str(path)).load().fingerprint
    img = tmp_path / rows.file_name[3]
    Image.open(img).rotate(90).save(img)
    assert Table(path=str(path)).load().fingerprint != before
    rows.loc[0, "caption"] = "another caption"
    WRITERS["csv"](rows, tmp_path)
    assert Table(path=str(path)).load().fingerprint not in (before,)


def test_mixed_sizes_refused_or_resized(rows: pd.DataFrame, tmp_path: Path) -> None:
    big = tmp_path / rows.file_name[5]
    Image.open(big).resize((64, 64)).save(big)
    path = WRITERS["csv"](rows, tmp_path)
    with pytest.raises(UserError, match=r"images differ in size: .*0000.jpg is 32x32 but "
                                        r".*0005.jpg is 64x64"):
        Table(path=str(path)).load()
    for method in ("squash", "crop", "pad"):
        data = Table(path=str(path), image_size=48, resize=method).load()
        assert data.modalities["image"].shape == (36, 48, 48, 3)


def test_symlinked_image_outside_the_folder_is_allowed(rows: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    shutil.move(tmp_path / rows.file_name[0], outside / "x.jpg")
    (tmp_path / rows.file_name[0]).symlink_to(outside / "x.jpg")
    assert len(Table(path=str(WRITERS["csv"](rows, tmp_path))).load()) == 36


def test_hf_local_layouts(rows: pd.DataFrame, tmp_path: Path) -> None:
    import datasets

    rows.to_csv(tmp_path / "metadata.csv", index=False)
    folder = HuggingFace(path="imagefolder", data_dir=str(tmp_path), split="train",
                         text_columns="caption").load()
    assert folder.modalities["image"].shape == (36, 32, 32, 3)
    assert set(folder.class_names) == set(CLASSES)
    ds = datasets.load_dataset("imagefolder", data_dir=str(tmp_path), split="train",
                               cache_dir=str(tmp_path / "hfc"))
    parts = ds.train_test_split(test_size=0.25, seed=0, stratify_by_column=None)
    parts.save_to_disk(str(tmp_path / "saved"))
    saved = HuggingFace(path=str(tmp_path / "saved"), text_columns="caption",
                        numeric_columns=["age"]).load()
    assert saved.predefined_test.sum() == len(parts["test"]) and len(saved) == 36
    assert saved.kinds["tabular"] == "numeric"
    rows.to_parquet(tmp_path / "t.parquet")
    pq = HuggingFace(path="parquet", data_files=str(tmp_path / "t.parquet"), split="train",
                     group_column="group").load()
    assert pq.fingerprint == Table(path=str(tmp_path / "t.parquet"),
                                   group_column="group").load().fingerprint


SUITE = """
name = "own"
results_dir = "{results}"
cache_dir = "{cache}"
seeds = [0]

[[datasets]]
name = "{name}"
params = {params}
split = {split}

[[featurizers]]
name = "pixels"
params = {{ stride = 8 }}

[[featurizers]]
name = "tfidf"
params = {{ min_df = 1 }}

[[fusions]]
name = "concat"

[[classifiers]]
name = "logreg"
"""


def suite(tmp_path: Path, params: str, name: str = "table",
          split: str = '{ method = "stratified", test_size = 0.25 }') -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(results=tmp_path / "results", cache=tmp_path / "cache",
                                 name=name, params=params, split=split))
    return path


def test_suite_runs_with_groups_and_a_predefined_split(rows: pd.DataFrame, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    WRITERS["csv"](rows, tmp_path)
    path = suite(tmp_path, f'{{ path = "{tmp_path / "t.csv"}", group_column = "group", '
                           f'split_column = "split" }}', split='{ method = "predefined" }')
    assert main(["run", str(path)]) == 0, capsys.readouterr()
    records = list((tmp_path / "results").rglob("*.json"))
    assert records


def _bad(rows: pd.DataFrame, d: Path, how: str) -> tuple[str, list[str]]:
    """Write the case ``how``; return the dataset params and the fragments of the message."""
    csv = d / "t.csv"
    if how == "missing-path":
        return "{ text_columns = \"caption\" }", ["table: path is required"]
    if how == "misspelt-column":
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}", text_columns = "captoin" }}', [
            "text_columns: column 'captoin' is not a column of", "did you mean 'caption'?"]
    if how == "float-labels":
        rows.assign(label=rows.age + 0.5).to_csv(csv, index=False)
        return f'{{ path = "{csv}" }}', ["row 0 holds the number 0.5", "class names or integers"]
    if how == "empty-label":
        rows.loc[[3, 8], "label"] = None
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}" }}', ["column 'label'", "2 row(s) (3, 8) have no label"]
    if how == "zero-rows":
        rows.iloc[:0].to_csv(csv, index=False)
        return f'{{ path = "{csv}" }}', ["the table has no rows"]
    if how == "folder-without-metadata":
        return f'{{ path = "{d / "images"}" }}', ["has no metadata.csv or metadata.jsonl"]
    if how == "url":
        rows.loc[2, "file_name"] = "https://example.org/cat.jpg"
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}" }}', ["row 2 is a URL", "local image files only"]
    if how == "latin-1":
        rows.loc[0, "caption"] = "un chat très mignon"
        csv.write_bytes(rows.to_csv(index=False).encode("latin-1"))
        return f'{{ path = "{csv}" }}', [f"{csv} is not UTF-8", "save it as UTF-8"]
    if how == "utf-16":
        csv.write_bytes(rows.to_csv(index=False).encode("utf-16"))
        return f'{{ path = "{csv}" }}', [f"{csv} is UTF-16-LE encoded"]
    if how == "nan-text":
        rows.loc[[4, 9, 10], "caption"] = None
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}" }}', ["column 'caption'", "3 row(s) (4, 9, 10) of 36 have no"]
    if how == "label-outside-class-names":
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}", class_names = [["airplane", "automobile"]] }}', [
            "label(s) 'bird' in 12 row(s)", "not in class_names"]
    if how == "missing-image":
        rows.to_csv(csv, index=False)
        (d / rows.file_name[7]).unlink()
        return f'{{ path = "{csv}" }}', ["1 image file(s) do not exist", rows.file_name[7]]
    if how == "undecodable-image":
        rows.to_csv(csv, index=False)
        (d / rows.file_name[7]).write_bytes(b"not a jpeg")
        return f'{{ path = "{csv}" }}', ["cannot decode image", rows.file_name[7]]
    if how == "mixed-sizes":
        rows.to_csv(csv, index=False)
        img = d / rows.file_name[7]
        Image.open(img).resize((40, 30)).save(img)
        return f'{{ path = "{csv}" }}', ["images differ in size", "is 40x30", "resize"]
    if how == "16-bit-image":
        rows.loc[7, "file_name"] = "deep.png"
        rows.to_csv(csv, index=False)
        Image.fromarray(np.full((32, 32), 999, dtype=np.uint16)).save(d / "deep.png")
        return f'{{ path = "{csv}" }}', ["deep.png: image mode 'I;16' is not 8-bit"]
    if how == "bad-resize":
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}", resize = "stretch" }}', ["resize = 'stretch' is not one of"]
    if how == "bad-split-value":
        rows.loc[5, "split"] = "holdout"
        rows.to_csv(csv, index=False)
        return f'{{ path = "{csv}", split_column = "split" }}', ["split value(s) 'holdout'"]
    if how in ("hf-hub-offline", "hf-hub-unreachable"):
        return '{ path = "nobody/no-such-dataset" }', ["is not a local folder", "save_to_disk"]
    raise AssertionError(how)


BAD = ["missing-path", "misspelt-column", "float-labels", "empty-label", "zero-rows",
       "folder-without-metadata", "url", "latin-1", "utf-16", "nan-text",
       "label-outside-class-names", "missing-image", "undecodable-image", "mixed-sizes",
       "16-bit-image", "bad-resize", "bad-split-value", "hf-hub-offline",
       "hf-hub-unreachable"]


@pytest.mark.parametrize("how", BAD)
def test_bad_input_is_one_line_exit_2_nothing_recorded(
        how: str, rows: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    params, expect = _bad(rows, tmp_path, how)
    if how == "hf-hub-offline":  # as on a machine without a network, told so
        import datasets.config
        import huggingface_hub.constants

        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        for module in (huggingface_hub.constants, datasets.config):  # read at import: set
            monkeypatch.setattr(module, "HF_HUB_OFFLINE", True)     # here, undone after
    # "hf-hub-unreachable": not told (this machine has no route to the Hub): the Hub client's
    # retries log warnings, which must not reach the user's terminal (here: stderr) either
    terminal = logging.StreamHandler(sys.stderr)
    logging.getLogger("huggingface_hub").addHandler(terminal)
    try:
        code = main(["run", str(suite(tmp_path, params,
                                      "hf" if how.startswith("hf") else "table"))])
    finally:
        logging.getLogger("huggingface_hub").removeHandler(terminal)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    for fragment in expect:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in out + err
    recorded = [p for p in (tmp_path / "results").rglob("*") if p.is_file()] if (
        tmp_path / "results").exists() else []
    assert not [p for p in recorded if "cells" in p.parts or p.suffix == ".npz"], recorded


def test_dataset_rows_disagreeing_in_length_are_refused_by_the_runner(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import mmbench
    from mmbench.protocols import MultimodalData
    from mmbench.testing import registered

    class Short:
        modalities = ("image", "text")

        def load(self) -> MultimodalData:
            return MultimodalData({"image": np.zeros((4, 8, 8, 3), np.uint8),
                                   "text": ["a", "b", "c"]}, np.arange(4) % 2, ("x", "y"), "f")

    class P:
        @mmbench.hookimpl
        def mmbench_register_datasets(self, register):  # type: ignore[no-untyped-def]
            register(Short, name="short")

    with registered(P(), name="short-plugin"):
        code = main(["run", str(suite(tmp_path, "{}", "short"))])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "dataset 'short': modality 'text' has 3 samples but there are 4 labels" in err[0]
    assert json.dumps(err)  # one plain line


def test_hf_class_label_from_sub_folders_keeps_its_names(rows: pd.DataFrame,
                                                          tmp_path: Path) -> None:
    # no metadata file: datasets labels each image by its sub-folder (a ClassLabel)
    data = HuggingFace(path="imagefolder", data_dir=str(tmp_path / "images"),
                       split="train").load()
    from cifar_slice import CLASSES as ALL

    assert data.class_names == ALL and data.kinds == {"image": "image"}
    assert np.bincount(data.y).tolist() == [12] * 10  # 12 images in each class folder
