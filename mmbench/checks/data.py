"""The data the checks run on: :func:`tiny_data`, and the feature views fusions are checked on.

``tiny_data()`` is raw samples (small images and captions) for datasets and featurizers;
``tiny_data(dims={...})`` is feature matrices (one float32 view per modality), the data fusion
and classifier checks run on; either scales with ``n``. docs/testing.md describes both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import numpy as np

from ..protocols import NUMERIC, MultimodalData

WORDS = {
    0: ["red", "apple", "cherry", "fire"],
    1: ["green", "leaf", "grass", "frog"],
    2: ["blue", "sky", "sea", "whale"],
    3: ["yellow", "sun", "banana", "lemon"],
    4: ["white", "snow", "cloud", "milk"],
}
FILLER = ["a", "photo", "of", "the", "small", "big", "near", "with", "some", "thing"]
COLORS = np.array([[200, 40, 40], [40, 180, 60], [40, 60, 200], [220, 210, 40], [235, 235, 235]])

#: the fusion checks' default data: 150 rows, views 3 + 4 and 3 + 1 wide for 3 classes
FUSION_ROWS = 150


def tiny_data(n: int = 120, n_classes: int = 3, *, size: int = 8,
              dims: Mapping[str, int] | None = None, image_signal: float = 0.7,
              text_signal: float = 0.6, seed: int = 0) -> MultimodalData:
    """A small labelled dataset, balanced over ``n_classes`` classes (shuffled, ``seed``).

    Without ``dims``: ``image`` (``uint8[n, size, size, 3]``: the class's colour with
    probability ``image_signal``, else a random class's, plus Gaussian noise of std 40) and
    ``text`` (five-word captions: four filler words and one word of the class with probability
    ``text_signal``, else of a random class), so each modality alone is imperfect and together
    they do better.

    With ``dims`` (modality name -> width, e.g. ``{"image": 64, "text": 32}``): one
    ``float32[n, width]`` feature view per modality, standard normal noise plus the class
    centre (2 on the class's own column when ``width >= n_classes``, else a random centre of
    norm 2), each view informative on its own: the data for fusions and classifiers.
    """
    if not 2 <= n_classes <= len(WORDS):
        raise ValueError(f"n_classes must be in 2..{len(WORDS)}, got {n_classes}")
    if n < 2 * n_classes:
        raise ValueError(f"n must be at least 2 per class ({2 * n_classes}), got {n}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    names = tuple(f"class{i}" for i in range(n_classes))
    if dims is not None:
        return _views_data(y, names, dims, rng)
    shown = np.where(rng.random(n) < image_signal, y, rng.integers(0, n_classes, n))
    base = COLORS[shown][:, None, None, :].astype(float)
    images = np.clip(base + rng.normal(0, 40.0, (n, size, size, 3)), 0, 255)
    texts = []
    for lab in y:
        k = lab if rng.random() < text_signal else rng.integers(n_classes)
        words = list(rng.choice(FILLER, 4)) + [str(rng.choice(WORDS[int(k)]))]
        rng.shuffle(words)
        texts.append(" ".join(words))
    images = images.astype(np.uint8)
    digest = hashlib.sha256(images.tobytes() + "\n".join(texts).encode() + y.tobytes())
    return MultimodalData({"image": images, "text": texts}, y.astype(np.int64), names,
                          digest.hexdigest(), {"source": "mmbench.testing.tiny_data"})


def _views_data(y: np.ndarray, names: tuple[str, ...], dims: Mapping[str, int],
                rng: np.random.Generator) -> MultimodalData:
    if not dims or any(not isinstance(d, int) or isinstance(d, bool) or d < 1
                       for d in dims.values()):
        raise ValueError(f"dims maps modality names to positive widths, e.g. "
                         f"{{'image': 64, 'text': 32}}; got {dims!r}")
    views = {m: class_view(y, len(names), d, rng) for m, d in dims.items()}
    digest = hashlib.sha256(b"".join(v.tobytes() for v in views.values()) + y.tobytes())
    return MultimodalData(views, y.astype(np.int64), names, digest.hexdigest(),
                          {"source": "mmbench.testing.tiny_data", "dims": dict(dims)},
                          kinds={m: NUMERIC for m in views})


def class_view(y: np.ndarray, k: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """``float32[len(y), width]``: standard normal noise plus a centre of norm 2 per class."""
    if width >= k:
        centres = np.eye(k, width) * 2
    else:
        centres = rng.normal(0, 1, (k, width))
        centres *= 2 / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    return (rng.normal(0, 1, (len(y), width)) + centres[y]).astype(np.float32)


def fusion_views(data: MultimodalData | None) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """(views, y, n_classes) for the fusion checks: ``data``'s own views when every modality
    is a 2-d feature matrix (``tiny_data(dims=...)``), else views made for ``data``'s labels
    (``image`` k + 4 and ``text`` k + 1 wide; default 150 rows of 3 classes)."""
    if data is None:
        data = tiny_data(FUSION_ROWS, dims={"image": 7, "text": 4}, seed=1)
    k = len(data.class_names)
    if all(isinstance(v, np.ndarray) and v.ndim == 2 for v in data.modalities.values()):
        views = {m: np.asarray(v, dtype=np.float32) for m, v in data.modalities.items()}
    else:
        rng = np.random.default_rng(1)
        views = {"image": class_view(data.y, k, k + 4, rng),
                 "text": class_view(data.y, k, k + 1, rng)}
    if len(views) < 2:
        raise AssertionError(f"fusion checks need at least two modalities, got {list(views)}")
    return views, np.asarray(data.y), k
