"""open_clip featurizers and zero-shot classifier, with a small architecture and random
weights (no network, no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from mmbench.errors import SuiteError, UserError
from mmbench.leaderboard import cells_frame
from mmbench.plan import plan_suite
from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite
from mmbench.suite import load_suite
from mmbench.testing import check_classifier, check_featurizer, tiny_data
from mmbench_clip import models
from mmbench_clip.featurizers import ClipImage, ClipText
from mmbench_clip.zeroshot import ClipZeroShot

SMALL = {"model": "ViT-S-32", "pretrained": "none"}


def test_featurizers_contract_and_dims() -> None:
    data = tiny_data(16, size=8)
    image = ClipImage(**SMALL, image_size=32)
    check_featurizer(image, data)
    x = image.transform(data.modalities["image"])
    assert x.shape == (16, image.output_dim)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
    text = ClipText(**SMALL)
    check_featurizer(text, data)
    assert text.transform(data.modalities["text"]).shape == (16, text.output_dim)
    assert ClipImage.notes(SMALL) == ["random weights"] and ClipImage.notes({}) == []


def test_bad_names_get_did_you_mean() -> None:
    with pytest.raises(ValueError, match="no model 'ViT-B-33'; did you mean 'ViT-B-32'"):
        ClipImage(model="ViT-B-33")
    with pytest.raises(ValueError, match="did you mean 'laion2b_s34b_b79k'"):
        ClipText(model="ViT-B-32", pretrained="laion2b_s34b_b78k")
    with pytest.raises(ValueError, match="does not exist"):
        ClipImage(model="ViT-S-32", pretrained="/no/such/ckpt.pt")


def test_offline_missing_weights_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hf

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)  # read at import time: patch it too
    monkeypatch.setattr(hf, "HF_HUB_CACHE", "/nonexistent-hf-cache")
    feat = ClipImage(model="ViT-B-32", pretrained="laion2b_s34b_b79k")
    with pytest.raises(UserError) as info:
        feat.transform(np.zeros((1, 32, 32, 3), np.uint8))
    msg = str(info.value)
    assert "ViT-B-32" in msg and "laion2b_s34b_b79k" in msg and 'pretrained = "/path/to' in msg


def test_local_checkpoint_roundtrip_and_unreadable(tmp_path: Path) -> None:
    import torch

    images = tiny_data(8, size=8).modalities["image"]
    ref = ClipImage(**SMALL, image_size=32).transform(images)
    net = models.load("ViT-S-32", "none", "cpu", 32)
    ckpt = tmp_path / "vit-s-32.pt"
    torch.save(net.state_dict(), ckpt)
    again = ClipImage(model="ViT-S-32", pretrained=str(ckpt), image_size=32).transform(images)
    np.testing.assert_allclose(again, ref, atol=1e-5)
    assert ClipImage.notes({"pretrained": str(ckpt)}) == []
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match="cannot load checkpoint .*broken.pt"):
        ClipImage(model="ViT-S-32", pretrained=str(bad), image_size=32).transform(images)


def test_zeroshot_scores_prompt_embeddings_as_their_class() -> None:
    names = ("cat", "dog", "ship")
    zs = ClipZeroShot(**SMALL, templates="simple", class_names=names)
    zs.fit(np.zeros((3, models.embed_dim("ViT-S-32") or 0), np.float32), np.arange(3))
    proba = zs.predict_proba(zs.weights_ * 3.0)  # scale must not matter
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert list(zs.predict(zs.weights_)) == [0, 1, 2]
    with pytest.raises(ValueError, match="class names"):
        ClipZeroShot(**SMALL).fit(np.zeros((2, 384)), np.arange(2))
    with pytest.raises(ValueError, match="templates"):
        ClipZeroShot(**SMALL, templates="no placeholder")


def _suite(tmp_path: Path, zs_model: str = "ViT-S-32") -> Path:
    path = tmp_path / "clip.toml"
    path.write_text(f"""
name = "clip-test"
device = "auto"
results_dir = "{tmp_path / 'results'}"
cache_dir = "{tmp_path / 'cache'}"
[[datasets]]
name = "synthetic"
params = {{ n = 60, n_classes = 3 }}
[[featurizers]]
name = "clip-image"
params = {{ model = "ViT-S-32", pretrained = "none", image_size = 32 }}
[[featurizers]]
name = "pixels"
[[featurizers]]
name = "tfidf"
params = {{ min_df = 1 }}
[[fusions]]
name = "concat"
[[classifiers]]
name = "logreg"
[[classifiers]]
name = "clip-zeroshot"
params = {{ model = "{zs_model}", pretrained = "none", templates = "simple" }}
""")
    return path


def test_zeroshot_pairs_only_with_its_clip_image_and_rows_are_marked(tmp_path: Path) -> None:
    catalog = get_catalog()
    plan = plan_suite(load_suite(_suite(tmp_path)), catalog)
    zs_cells = [c for c in plan.cells if c.classifier.name == "clip-zeroshot"]
    assert len(zs_cells) == 1
    assert zs_cells[0].fusion.name == "unimodal" and zs_cells[0].modalities == ("image",)
    assert dict(zs_cells[0].featurizers)["image"].name == "clip-image"
    with pytest.raises(SuiteError, match="clip-zeroshot.*pairs with no fusion"):
        plan_suite(load_suite(_suite(tmp_path, zs_model="ViT-B-32")), catalog)

    summary = run_suite(_suite(tmp_path), Console(quiet=True), catalog=catalog, live=False)
    assert summary.failed == [] and summary.ran == len(plan.cells)
    records = list(ResultStore(tmp_path / "results" / "clip-test").records())
    zs = [r for r in records if r["classifier"]["name"] == "clip-zeroshot"]
    assert zs[0]["classifier"]["notes"] == ["random weights"]
    assert zs[0]["class_names"] == ["class0", "class1", "class2"]
    for r in records:
        marked = "notes" in r["featurizers"].get("image", {})
        assert marked == (r["featurizers"].get("image", {}).get("name") == "clip-image")
    frame = cells_frame(records)
    clip_rows = frame[frame["feat:image"].str.startswith("clip-image", na=False)]
    assert len(clip_rows) and clip_rows["feat:image"].str.endswith("(random weights)").all()
