"""easy-VQA on real package data: shared rows featurized once per distinct image, the dataset
plugin (groups, predefined split, bad input), and the complementarity diagnostic recomputed from
stored predictions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import mmbench
from mmbench.cache import FeatureCache
from mmbench.errors import DataMissingError, UserError
from mmbench.featurize import FeatureProvider
from mmbench.plan import Variant
from mmbench.plugins import load_catalog
from mmbench.protocols import FeaturizerBase, MultimodalData, SharedSamples
from mmbench.splits import split_indices

easy_vqa = pytest.importorskip("easy_vqa")
from mmbench_easyvqa import EasyVQA  # noqa: E402

PACKAGE_DATA = Path(easy_vqa.__file__).parent / "data"


class RowCounter(FeaturizerBase):
    """Channel means; counts the rows each call is given (class attributes, shared)."""

    modality = "image"
    fitted: list[int] = []
    transformed: list[int] = []

    def __init__(self, *, fits: bool = False) -> None:
        self.fits = fits

    def fit(self, samples):  # noqa: ANN001, ANN201
        RowCounter.fitted.append(len(samples))
        return self

    def transform(self, samples):  # noqa: ANN001, ANN201
        RowCounter.transformed.append(len(samples))
        return np.asarray(samples, dtype=np.float32).mean(axis=(1, 2))


class FittedRowCounter(RowCounter):
    fits_on_train = True


def _catalog():  # noqa: ANN202
    module = types.ModuleType("counting_plugin")

    @mmbench.hookimpl
    def mmbench_register_featurizers(register):  # noqa: ANN001, ANN202
        register(RowCounter, name="row-counter")
        register(FittedRowCounter, name="fitted-row-counter")

    module.mmbench_register_featurizers = mmbench_register_featurizers
    catalog = load_catalog()
    catalog.register_plugin(module, "counting", "counting")
    return catalog


def _provider(tmp_path: Path) -> FeatureProvider:
    RowCounter.fitted.clear()
    RowCounter.transformed.clear()
    return FeatureProvider(FeatureCache(tmp_path / "features"), _catalog(), {})


def test_shared_samples_behave_as_rows() -> None:
    distinct = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    shared = SharedSamples(distinct, np.array([2, 0, 2, 1]))
    assert len(shared) == 4 and np.array_equal(shared[0], distinct[2])
    assert np.array_equal(np.asarray(shared), distinct[[2, 0, 2, 1]])
    part = shared[np.array([0, 2])]
    assert isinstance(part, SharedSamples) and part.distinct is distinct
    picked, expand = part.compact()
    assert len(picked) == 1 and np.array_equal(picked[expand], distinct[[2, 2]])
    data = MultimodalData({"image": shared, "text": list("abcd")}, np.array([0, 1, 0, 1]),
                          ("a", "b"), "fp")
    sub = data.subset(np.array([1, 3]))
    assert np.array_equal(np.asarray(sub.modalities["image"]), distinct[[0, 1]])
    assert sub.kind("image") == "image"
    with pytest.raises(ValueError, match="outside"):
        SharedSamples(distinct, np.array([3]))


@pytest.mark.slow
def test_full_dataset_featurizes_each_image_once(tmp_path: Path) -> None:
    """48,248 questions, but a featurizer counting the rows it is given sees 5,000 images."""
    data = EasyVQA().load()
    assert len(data) == 48_248 and len(data.class_names) == 13
    provider = _provider(tmp_path)
    train, test = split_indices(data.y, {"method": "predefined"}, 0,
                                predefined_test=data.predefined_test)[0]
    assert (len(train), len(test)) == (38_575, 9_673)
    xtr, xte = provider.features(Variant.of("featurizer", "row-counter", {}), data, train, test)
    assert RowCounter.transformed == [5_000]
    expected = np.asarray(data.modalities["image"][test], dtype=np.float32).mean(axis=(1, 2))
    assert xtr.shape == (38_575, 3) and np.allclose(xte, expected)


def test_fitted_featurizer_sees_distinct_images_per_part(tmp_path: Path) -> None:
    data = EasyVQA(questions_per_split=300).load()
    images = data.modalities["image"]
    train, test = np.flatnonzero(~data.predefined_test), np.flatnonzero(data.predefined_test)
    provider = _provider(tmp_path)
    xtr, xte = provider.features(Variant.of("featurizer", "fitted-row-counter", {}), data,
                                 train, test)
    n_tr, n_te = len(np.unique(images.index[train])), len(np.unique(images.index[test]))
    assert n_tr < len(train) and RowCounter.fitted == [n_tr]
    assert RowCounter.transformed == [n_tr, n_te]
    assert np.allclose(xtr, np.asarray(images[train], dtype=np.float32).mean(axis=(1, 2)))
    assert len(xte) == len(test)


def test_slice_has_groups_predefined_split_and_package_names() -> None:
    data = EasyVQA(questions_per_split=300).load()
    assert data.class_names == tuple(easy_vqa.get_answers())
    texts, answers, ids = easy_vqa.get_train_questions()
    assert list(data.modalities["text"][:300]) == texts[:300]
    assert [data.class_names[k] for k in data.y[:300]] == answers[:300]
    assert data.predefined_test.sum() == 300 and not data.predefined_test[:300].any()
    # every question of one image shares a group, and an image of the test split is another
    # group than the train image with the same file id
    assert len(np.unique(data.groups)) == len(data.modalities["image"].distinct)
    assert set(data.groups[:300]).isdisjoint(data.groups[300:])
    for split in ({"method": "stratified", "test_size": 0.25}, {"method": "kfold", "k": 3}):
        for train, test in split_indices(data.y, split, 1, groups=data.groups):
            assert set(data.groups[train]).isdisjoint(data.groups[test])


def _copy_slice(tmp_path: Path, n: int = 40) -> Path:
    """A copy of the package data with the first ``n`` questions of each split and their
    images."""
    root = tmp_path / "evqa"
    shutil.copy(PACKAGE_DATA / "answers.txt", root.mkdir() or root / "answers.txt")
    for part in ("train", "test"):
        rows = json.loads((PACKAGE_DATA / part / "questions.json").read_text())[:n]
        (root / part / "images").mkdir(parents=True)
        (root / part / "questions.json").write_text(json.dumps(rows))
        for image_id in {r[2] for r in rows}:
            shutil.copy(PACKAGE_DATA / part / "images" / f"{image_id}.png",
                        root / part / "images" / f"{image_id}.png")
    return root


def test_damaged_copies_name_the_file(tmp_path: Path) -> None:
    root = _copy_slice(tmp_path)
    assert len(EasyVQA(data_dir=str(root)).load()) == 80
    image_id = json.loads((root / "test" / "questions.json").read_text())[0][2]
    missing = root / "test" / "images" / f"{image_id}.png"
    missing.unlink()
    with pytest.raises(UserError, match=f"image file {missing} is missing"):
        EasyVQA(data_dir=str(root)).load()
    missing.write_bytes(b"not a png")
    with pytest.raises(UserError, match=f"cannot decode image {missing}"):
        EasyVQA(data_dir=str(root)).load()
    questions = root / "train" / "questions.json"
    questions.write_text(questions.read_text()[:100])  # truncated
    with pytest.raises(UserError, match=f"cannot read the questions file {questions}"):
        EasyVQA(data_dir=str(root)).load()


def test_damaged_copy_is_exit_2_with_one_line(tmp_path: Path, write_suite) -> None:  # noqa: ANN001
    root = _copy_slice(tmp_path)
    (root / "train" / "questions.json").write_text("[[1, 2")
    suite = write_suite(f'''
name = "evqa-bad"
seeds = [0]
results_dir = "{tmp_path / 'results'}"
[[datasets]]
name = "easy-vqa"
params = {{ data_dir = "{root}" }}
split = {{ method = "predefined" }}
[[featurizers]]
name = "pixels"
[[featurizers]]
name = "tfidf"
[[fusions]]
name = "concat"
[[classifiers]]
name = "logreg"
''')
    proc = subprocess.run([sys.executable, "-m", "mmbench.cli", "run", str(suite)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(root / "train" / "questions.json") in lines[0]
    assert not (tmp_path / "results" / "evqa-bad" / "cells").exists() or not any(
        (tmp_path / "results" / "evqa-bad" / "cells").iterdir())


def test_package_missing_names_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "easy_vqa", None)  # import easy_vqa -> ImportError
    with pytest.raises(DataMissingError, match="pip install easy-vqa") as info:
        EasyVQA().load()
    assert "\n" not in str(info.value)


def test_robustness_sweep_on_shared_rows(tmp_path: Path, write_suite) -> None:  # noqa: ANN001
    """Corruptions of a SharedSamples modality: each distinct test image corrupted and
    featurized once, expanded to its questions; the sweep is recorded."""
    from rich.console import Console

    from mmbench.runner import run_suite

    suite = write_suite(f'''
name = "evqa-rob"
seeds = [0]
results_dir = "{tmp_path / 'results'}"
[[datasets]]
name = "easy-vqa"
params = {{ questions_per_split = 120 }}
split = {{ method = "predefined" }}
[[featurizers]]
name = "pixels"
params = {{ stride = 16 }}
[[featurizers]]
name = "tfidf"
[[fusions]]
name = "late-mean"
[[classifiers]]
name = "logreg"
[robustness]
image_noise = [32.0]
text_swap = [0.5]
''')
    run_suite(suite, Console(file=open(os.devnull, "w")))  # noqa: SIM115
    records = [json.loads(p.read_text())
               for p in (tmp_path / "results" / "evqa-rob" / "cells").glob("*.json")]
    fused = next(r for r in records if r["level"] != "unimodal")
    assert fused["status"] == "ok"
    assert set(fused["robustness"]) == {"image_noise", "text_swap"}
    assert all("error" not in c for c in fused["robustness"].values())
