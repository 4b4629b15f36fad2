"""Caption leakage audit: real shared captions when MMBENCH_DATA_DIR is set, made-up otherwise;
and the run -> audit.json -> leaderboard warning path with a leaking dataset plugin."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import mmbench
from mmbench.audit import audit_texts, class_mentions, class_terms, load_audit
from mmbench.leaderboard import print_leaderboard
from mmbench.protocols import MultimodalData
from mmbench.runner import run_suite
from mmbench.testing import registered, tiny_data

CIFAR = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def captions(n: int = 600) -> tuple[list[str], list[str], np.ndarray, tuple[str, ...]]:
    """(caption, primer_caption, y, class names): the first ``n`` real test captions, or
    made-up ones in the same two styles."""
    root = os.environ.get("MMBENCH_DATA_DIR")
    path = Path(root or "/nonexistent") / "cifar10" / "captions.csv"
    if path.exists():
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))[:n]
        y = np.array([CIFAR.index(r["label"]) for r in rows])
        return [r["caption"] for r in rows], [r["primer_caption"] for r in rows], y, CIFAR
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    scenes = ["on a road", "in a field", "near some water", "under a blue sky", "at night"]
    caps = [f"a {rng.choice(['small', 'large', 'blurry'])} {CIFAR[k] if rng.random() < 0.5 else 'thing'} "
            f"{rng.choice(scenes)}" for k in y]
    return caps, [f"A photo of a {CIFAR[k]}." for k in y], y, CIFAR


def test_primer_caption_leaks_and_free_captions_do_not() -> None:
    caption, primer, y, names = captions()
    leak = audit_texts(primer, y, names)
    assert leak["level"] == "leak" and leak["leak"]
    assert leak["share_own_class"] == 1.0 and leak["tfidf_accuracy"] > 0.98
    assert "leak" in leak["message"]
    free = audit_texts(caption, y, names)
    assert not free["leak"]
    assert 0.25 <= free["share_own_class"] < 0.9
    assert free["share_any_class"] >= free["share_own_class"]
    # captions with no class words at all
    tiny = tiny_data(n=150, n_classes=3)
    clean = audit_texts(tiny.modalities["text"], tiny.y, tiny.class_names)
    assert clean["level"] == "none" and clean["share_own_class"] == 0.0
    assert clean["tfidf_accuracy"] > 0.5  # the words still carry signal, just not the label


def test_terms_synonyms_and_plurals() -> None:
    assert {"car", "cars", "automobiles"} <= class_terms("automobile")
    assert {"plane", "jets", "aircraft"} <= class_terms("airplane")
    assert {"sea lion", "sea lions", "seal"} <= class_terms("sea_lion", ["seal"])
    assert "puppies" in class_terms("dog")
    y = np.array([0, 1, 0, 1])
    texts = ["two cars parked", "an old lorry", "a red sedan", "a vehicle"]
    assert audit_texts(texts, y, ("automobile", "truck"))["share_own_class"] == 0.75
    # a dataset's own synonyms count
    own = audit_texts(texts, y, ("automobile", "truck"), {"truck": ["vehicle"]})
    assert own["share_own_class"] == 1.0


class Leaky:
    """tiny_data images with captions that spell out the label; provides its own synonyms."""

    modalities = ("image", "text")

    def __init__(self, *, n: int = 120) -> None:
        self.n = n

    def synonyms(self) -> dict[str, list[str]]:
        return {"class1": ["kitten"]}

    def load(self) -> MultimodalData:
        base = tiny_data(n=self.n, n_classes=3)
        words = {0: "class0", 1: "kitten", 2: "class2"}
        texts = [f"a photo of a {words[int(k)]}" for k in base.y]
        return MultimodalData({"image": base.modalities["image"], "text": texts}, base.y,
                              base.class_names, base.fingerprint + "-leaky")


class LeakyPlugin:
    @mmbench.hookimpl
    def mmbench_register_datasets(self, register):  # type: ignore[no-untyped-def]
        register(Leaky, name="leaky-test")


def test_run_stores_audit_and_leaderboard_warns(tmp_path: Path) -> None:
    suite = tmp_path / "leak.toml"
    suite.write_text(f"""
name = "leak"
results_dir = "{tmp_path}/results"
cache_dir = "{tmp_path}/cache"
[[datasets]]
name = "leaky-test"
[[featurizers]]
name = "tfidf"
params = {{ min_df = 1 }}
[[classifiers]]
name = "logreg"
""")
    with registered(LeakyPlugin(), "leaky-test"):
        summary = run_suite(suite, Console(file=io.StringIO()))
    assert not summary.failed
    audit = load_audit(summary.results_dir)
    (entry,) = audit.values()
    assert entry["modalities"]["text"]["level"] == "leak"
    assert entry["modalities"]["text"]["share_own_class"] == 1.0  # needs the own synonym
    out = io.StringIO()
    print_leaderboard(summary.results_dir, Console(file=out, width=300))
    assert "WARNING caption leakage" in out.getvalue()


@pytest.mark.skipif(not os.environ.get("MMBENCH_DATA_DIR"), reason="MMBENCH_DATA_DIR not set")
def test_real_caption_share_is_close_to_the_documented_fact() -> None:
    # the data README: "about 61% of the caption texts contain their class name" (name only);
    # synonyms and plurals can only raise the share
    caption, _, y, names = captions(10000)
    share = class_mentions(caption, y, names)[0].mean()
    exact = np.mean([names[k] in c.lower().split() or names[k] + "s" in c.lower().split()
                     for c, k in zip(caption, y)])
    assert 0.55 <= exact <= 0.7
    assert share >= exact
