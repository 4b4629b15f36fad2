"""A dataset plugin for split and modality tests: ``rows``, built from ``tiny_data`` (or real
CIFAR-10 images), with chosen class sizes, optional row groups, a predefined test split,
duplicated rows, and any modality names and kinds (text, image, numeric tables with NaN and
string columns). Plus ``counting``, a text featurizer that counts its calls (to show a check
came before any featurizing)."""

from __future__ import annotations

import hashlib
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mmbench
from mmbench.protocols import MultimodalData
from mmbench.testing import registered, tiny_data

NAMES = ("cat", "bird", "dog", "frog", "ship")
CALLS: list[int] = []  # one entry per CountingText.transform call


def numeric_table(y: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """A real mixed table: a label-informative float column with NaN, an int column, a
    string column (with a missing cell) and a constant column."""
    rng = np.random.default_rng(seed)
    n = len(y)
    price = y * 10.0 + rng.normal(0, 3, n)
    price[rng.random(n) < 0.15] = np.nan
    colour = np.array(["red", "green", "blue"], dtype=object)[(y + (rng.random(n) < 0.3)) % 3]
    colour[::11] = None
    return pd.DataFrame({"price": price, "rooms": rng.integers(1, 6, n), "colour": colour,
                         "const": np.ones(n)})


class Rows:
    """tiny_data rows with the shape a test needs (see the module docstring).

    :param sizes: samples per class (class names from :data:`NAMES`).
    :param group_size: consecutive rows of one class share a group id (0: no groups).
    :param predefined: every 4th row is a predefined test row.
    :param copies: rows 2i and 2i+1 share their image and text (duplicates).
    :param modalities: modality name -> kind (``image``, ``text``, ``numeric``).
    :param cifar: use this many real CIFAR-10 images per class (needs MMBENCH_DATA_DIR).
    :param kinds_known: declare the kinds before loading (a ``kinds`` attribute).
    """

    modalities: tuple[str, ...] = ("image", "text")  # the default; each instance names its own

    def __init__(self, *, sizes: list[int] | None = None, group_size: int = 0,
                 predefined: bool = False, copies: bool = False,
                 modalities: dict[str, str] | None = None, cifar: int = 0,
                 kinds_known: bool = True) -> None:
        self.sizes = list(sizes or [20, 20, 20])
        self.group_size = group_size
        self.predefined = predefined
        self.copies = copies
        self.mods = dict(modalities or {"image": "image", "text": "text"})
        self.cifar = cifar
        self.modalities = tuple(self.mods)
        if kinds_known:
            self.kinds = dict(self.mods)

    def load(self) -> MultimodalData:
        n_classes = len(self.sizes)
        if self.cifar:
            from cifar_slice import cifar_images

            images, y = cifar_images(self.cifar)
            keep = y < n_classes
            images, y = images[keep], y[keep]
        else:
            base = tiny_data(n=max(self.sizes) * n_classes * 2, n_classes=max(n_classes, 2))
            y = np.concatenate([np.flatnonzero(base.y == c)[:s]
                                for c, s in enumerate(self.sizes)])
            images, y = base.modalities["image"][y], base.y[y]
        order = np.argsort(y, kind="stable")
        images, y = images[order], y[order]
        base = tiny_data(n=len(y) + 60, n_classes=max(n_classes, 2), seed=1)
        texts = [t for _, t in zip(range(len(y)), base.modalities["text"])]
        if self.copies:
            images = images[np.arange(len(y)) // 2 * 2]
            texts = [texts[i // 2 * 2] for i in range(len(y))]
        mods: dict[str, Any] = {}
        for i, (name, kind) in enumerate(self.mods.items()):
            if kind == "image":
                mods[name] = images
            elif kind == "text":
                mods[name] = texts if i % 2 else [f"{name}: {t}" for t in texts]
            else:
                mods[name] = numeric_table(y, seed=i)
        groups = None
        if self.group_size:
            groups = np.zeros(len(y), dtype=np.int64)
            start = 0
            for c in range(n_classes):
                members = np.flatnonzero(y == c)
                groups[members] = start + np.arange(len(members)) // self.group_size
                start = groups[members].max() + 1 if len(members) else start
        test = (np.arange(len(y)) % 4 == 0) if self.predefined else None
        digest = hashlib.sha256(repr((self.sizes, self.group_size, self.predefined,
                                      self.copies, self.mods, self.cifar)).encode())
        return MultimodalData(mods, y.astype(np.int64), NAMES[:n_classes], digest.hexdigest(),
                              {"source": "tests/rows_kit"}, dict(self.mods), groups, test)


class CountingText:
    """Text lengths as features; counts its transform calls in :data:`CALLS`."""

    modality = "text"
    kind = "text"
    version = "1"
    fits_on_train = False

    def __init__(self, *, modality: str = "text") -> None:
        self.modality = modality

    def fit(self, samples: list[str]) -> CountingText:
        return self

    def transform(self, samples: list[str]) -> np.ndarray:
        CALLS.append(len(samples))
        return np.array([[len(t), t.count(" ")] for t in samples], dtype=np.float32)


PLUGIN = types.SimpleNamespace(
    mmbench_register_datasets=mmbench.hookimpl(lambda register: register(Rows, name="rows")),
    mmbench_register_featurizers=mmbench.hookimpl(
        lambda register: register(CountingText, name="counting")),
)


@pytest.fixture
def rows_plugin() -> Iterator[None]:
    """The ``rows`` dataset and ``counting`` featurizer, registered for one test."""
    CALLS.clear()
    with registered(PLUGIN, "rows-test-plugin"):
        yield
