"""The plugin author's test kit.

- :func:`tiny_data`: a two-modality dataset (images + captions) that runs in a second on CPU.
- :func:`check_featurizer`, :func:`check_fusion`, :func:`check_classifier`: conformance checks
  (raise ``AssertionError`` with a message saying what is wrong).
- :func:`registered`: a context manager that registers a plugin object in the process-wide
  catalog for one test and removes it afterwards (opt-in, nothing autouse).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .plugins import Catalog, get_catalog
from .protocols import LEVELS, MultimodalData
from .registry import check_contract

WORDS = {
    0: ["red", "apple", "cherry", "fire"],
    1: ["green", "leaf", "grass", "frog"],
    2: ["blue", "sky", "sea", "whale"],
    3: ["yellow", "sun", "banana", "lemon"],
    4: ["white", "snow", "cloud", "milk"],
}
FILLER = ["a", "photo", "of", "the", "small", "big", "near", "with", "some", "thing"]
COLORS = np.array([[200, 40, 40], [40, 180, 60], [40, 60, 200], [220, 210, 40], [235, 235, 235]])


def tiny_data(n: int = 120, n_classes: int = 3, *, size: int = 8, image_signal: float = 0.7,
              text_signal: float = 0.6, seed: int = 0) -> MultimodalData:
    """Images whose colour and captions whose words show the class with probability
    ``image_signal`` / ``text_signal`` (else a random class, independently), so each modality
    alone is imperfect and together they do better."""
    if not 2 <= n_classes <= len(WORDS):
        raise ValueError(f"n_classes must be in 2..{len(WORDS)}, got {n_classes}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    shown = np.where(rng.random(n) < image_signal, y, rng.integers(0, n_classes, n))
    base = COLORS[shown][:, None, None, :].astype(float)
    images = np.clip(base + rng.normal(0, 40.0, (n, size, size, 3)), 0, 255)
    texts = []
    for label in y:
        k = label if rng.random() < text_signal else rng.integers(n_classes)
        words = list(rng.choice(FILLER, 4)) + [str(rng.choice(WORDS[int(k)]))]
        rng.shuffle(words)
        texts.append(" ".join(words))
    images = images.astype(np.uint8)
    digest = hashlib.sha256(images.tobytes() + "\n".join(texts).encode() + y.tobytes())
    return MultimodalData(
        {"image": images, "text": texts}, y.astype(np.int64),
        tuple(f"class{i}" for i in range(n_classes)), digest.hexdigest(),
        {"source": "mmbench.testing.tiny_data"},
    )


def _split(data: MultimodalData, frac: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    cut = int(len(data) * frac)
    return np.arange(cut), np.arange(cut, len(data))


def check_featurizer(featurizer: Any, data: MultimodalData | None = None) -> np.ndarray:
    """Check a featurizer instance: contract, float32[N, D] output, same rows for the same
    input, and (for ``fits_on_train``) that transform works on unseen samples."""
    check_contract("featurizer", type(featurizer))
    data = data or tiny_data()
    assert featurizer.modality in data.modalities, (
        f"featurizer modality {featurizer.modality!r} not in test data {list(data.modalities)}")
    train, test = _split(data)
    samples = data.modalities[featurizer.modality]
    sub = data.subset(train).modalities[featurizer.modality]
    fitted = featurizer.fit(sub)
    assert fitted is not None, "fit must return self"
    out = np.asarray(fitted.transform(samples))
    assert out.ndim == 2 and out.shape[0] == len(samples), f"bad output shape {out.shape}"
    assert out.dtype == np.float32, f"features must be float32, got {out.dtype}"
    assert np.isfinite(out).all(), "features contain NaN or inf"
    again = np.asarray(fitted.transform(data.subset(test).modalities[featurizer.modality]))
    np.testing.assert_allclose(again, out[test], rtol=1e-4, atol=1e-5,
                               err_msg="transform of a subset differs from the full transform")
    return out


def check_classifier(cls: type, **params: Any) -> None:
    """Check a classifier class: sklearn contract (get_params/clone), fit returns self,
    probabilities rows sum to one, and it learns a separable problem."""
    from sklearn.base import clone

    check_contract("classifier", cls)
    clf = cls(**params)
    cloned = clone(clf)
    assert cloned.get_params() == clf.get_params(), "clone() does not preserve params"
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    X = rng.normal(0, 0.3, (90, 4)) + np.eye(3, 4)[y] * 3
    fitted = clf.fit(X, y)
    assert fitted is clf, "fit must return self"
    proba = np.asarray(clf.predict_proba(X))
    assert proba.shape == (90, 3), f"predict_proba shape {proba.shape}, expected (90, 3)"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert list(clf.classes_) == [0, 1, 2], f"classes_ is {clf.classes_}"
    acc = np.mean(np.asarray(clf.classes_)[proba.argmax(axis=1)] == y)
    assert acc > 0.9, f"accuracy {acc:.2f} on a separable problem"


def check_fusion(cls: type, make_classifier: Any = None, data: MultimodalData | None = None,
                 **params: Any) -> np.ndarray:
    """Check a fusion class on tiny features: contract, probability shape and sums, classes
    missing from training get probability columns, and better than chance."""
    check_contract("fusion", cls)
    assert cls.level in LEVELS
    data = data or tiny_data(n=150)
    rng = np.random.default_rng(1)
    y = data.y
    n_classes = len(data.class_names)
    views = {
        "image": (np.eye(n_classes)[y] * 2 + rng.normal(0, 1, (len(y), n_classes))).astype(
            np.float32),
        "text": (np.eye(n_classes)[y] * 2 + rng.normal(0, 1, (len(y), n_classes))).astype(
            np.float32),
    }
    if make_classifier is None:
        from sklearn.linear_model import LogisticRegression

        def make_classifier() -> Any:
            return LogisticRegression(max_iter=500)

    train, test = _split(data)
    tr = {m: v[train] for m, v in views.items()}
    te = {m: v[test] for m, v in views.items()}
    fusion = cls(**params)
    assert fusion.fit(tr, y[train], make_classifier) is fusion, "fit must return self"
    proba = np.asarray(fusion.predict_proba(te))
    assert proba.shape == (len(test), n_classes), f"bad proba shape {proba.shape}"
    assert np.isfinite(proba).all(), "probabilities contain NaN or inf"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-4)
    acc = np.mean(proba.argmax(axis=1) == y[test])
    assert acc > 1.5 / n_classes, f"accuracy {acc:.2f} is near chance on easy data"
    return proba


@contextmanager
def registered(plugin: object, name: str = "test-plugin",
               catalog: Catalog | None = None) -> Iterator[Catalog]:
    """Register ``plugin`` (a module or object with hookimpls) for the duration of a block."""
    catalog = catalog or get_catalog()
    if not catalog.register_plugin(plugin, name, "test"):
        broken = catalog.broken.pop()
        raise AssertionError(f"plugin {name!r} failed to register: {broken.error}")
    try:
        yield catalog
    finally:
        catalog.unregister_plugin(name)
