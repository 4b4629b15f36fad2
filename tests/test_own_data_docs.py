"""The README's "Your own data" blocks, docs/datasets.md's code and examples/own-data, run for
real on files made from CIFAR-10 JPEGs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cifar_slice import cifar_jpegs
from PIL import Image
from conftest import REPO

from mmbench.cli import main

CLASSES = ("airplane", "automobile", "bird")


def section_blocks() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("## Your own data", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```toml\n(.*?)```", section, re.S)


@pytest.fixture
def layouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In tmp_path (the working folder): my-data/photos.{csv,parquet} and my-images/ with
    metadata.csv, images of two sizes."""
    import datasets

    monkeypatch.chdir(tmp_path)
    files = [(p, c) for p, c in cifar_jpegs(8, tmp_path / "my-images") if c in CLASSES]
    for p, _ in files[::5]:  # some images of another size: my-images needs image_size/resize
        Image.open(p).resize((48, 40)).save(p)
    n = len(files)
    rows = pd.DataFrame({
        "file_name": [p.relative_to(tmp_path / "my-images").as_posix() for p, _ in files],
        "caption": [f"a {c} in the picture, number {i}" for i, (_, c) in enumerate(files)],
        "headline": [f"{c} today" for _, c in files], "label": [c for _, c in files],
        "age": np.arange(n) % 7, "price": np.linspace(1, 2, n),
        "photo_id": [i // 2 for i in range(n)],
        "split": ["test" if i % 4 == 0 else "train" for i in range(n)]})
    rows.to_csv(tmp_path / "my-images" / "metadata.csv", index=False)
    (tmp_path / "my-data").mkdir()
    same = rows.assign(file_name=[f"../my-images/{f}" for f in rows.file_name])
    for i in range(0, n, 5):  # photos.* use the 32x32 copies only
        src = tmp_path / "my-images" / rows.file_name[i]
        dst = tmp_path / "my-data" / f"small{i}.jpg"
        Image.open(src).resize((32, 32)).save(dst)
        same.loc[i, "file_name"] = dst.name
    same.to_csv(tmp_path / "my-data" / "photos.csv", index=False)
    same.to_parquet(tmp_path / "my-data" / "photos.parquet")
    datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "my-images"),
                          cache_dir=str(tmp_path / "hfc")).save_to_disk(str(tmp_path / "my-hf-copy"))
    return tmp_path


def test_readme_blocks_each_run(layouts: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = section_blocks()
    assert len(blocks) == 6
    for i, block in enumerate(blocks):
        if "tabular" in block:
            feats = ('[[featurizers]]\nname = "numeric"\n\n[[featurizers]]\nname = "tfidf"\n'
                     'params = { modality = "title", min_df = 1 }\n')
        else:
            feats = ('[[featurizers]]\nname = "pixels"\nparams = { stride = 8 }\n\n'
                     '[[featurizers]]\nname = "tfidf"\nparams = { min_df = 1 }\n')
        suite = layouts / f"suite{i}.toml"
        suite.write_text(f'name = "own{i}"\nresults_dir = "results{i}"\ncache_dir = "cache"\n'
                         f'seeds = [0]\n\n{block}\n{feats}\n[[fusions]]\nname = "concat"\n\n'
                         f'[[classifiers]]\nname = "logreg"\n')
        assert main(["run", str(suite)]) == 0, (block, capsys.readouterr())
        assert list((layouts / f"results{i}").rglob("*.json")), block
    saved = layouts / "suite_saved.toml"
    saved.write_text((layouts / "suite2.toml").read_text().replace(
        'path = "imagefolder", data_dir = "my-images", split = "train"', 'path = "my-hf-copy"'))
    assert main(["run", str(saved)]) == 0, capsys.readouterr()


def test_datasets_md_code_runs(tmp_path: Path) -> None:
    text = (REPO / "docs" / "datasets.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", text, re.S)
    files = cifar_jpegs(2, tmp_path)
    scope = {"paths": [p for p, _ in files], "image_size": 16, "resize": "pad",
             "texts": [f"about a {c}" for _, c in files], "class_names": list(dict.fromkeys(
                 c for _, c in files))}
    scope["y"] = np.array([scope["class_names"].index(c) for _, c in files])
    exec(compile(code, "docs/datasets.md", "exec"), scope)
    assert scope["decoded"].images.shape == (20, 16, 16, 3) and len(scope["fingerprint"]) == 64


def test_example_builds_an_image_folder_and_its_suite_runs(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    data = os.environ.get("MMBENCH_DATA_DIR")
    if not data or not (Path(data) / "cifar10" / "captions.csv").is_file():
        pytest.skip("MMBENCH_DATA_DIR with cifar10/ is not available")
    example = REPO / "examples" / "own-data"
    done = subprocess.run([sys.executable, str(example / "make_imagefolder.py"), data,
                           str(tmp_path / "my-images"), "--per-class", "6"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "wrote 60 images" in done.stdout
    meta = pd.read_csv(tmp_path / "my-images" / "metadata.csv")
    assert list(meta.columns) == ["file_name", "text", "label", "photo"] and len(meta) == 60
    monkeypatch.chdir(tmp_path)
    suite = tmp_path / "suite.toml"
    suite.write_text(f'results_dir = "results"\ncache_dir = "cache"\n'
                     + (example / "suite.toml").read_text().replace("seeds = [0, 1]",
                                                                   "seeds = [0]"))
    assert main(["run", str(suite)]) == 0
