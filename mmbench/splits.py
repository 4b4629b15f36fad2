"""Train/test splits: stratified by label, a function of the seed (and fold) only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def make_split(
    y: np.ndarray, split: Mapping[str, Any], seed: int, fold: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(train_index, test_index) for ``split`` = ``{"method": "stratified", "test_size": f}``
    or ``{"method": "kfold", "k": k}`` (fold ``fold`` of k, shuffled by ``seed``)."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    index = np.arange(len(y))
    if split["method"] == "kfold":
        folds = StratifiedKFold(n_splits=split["k"], shuffle=True, random_state=seed)
        train, test = list(folds.split(index, y))[fold]
        return np.sort(train), np.sort(test)
    train, test = train_test_split(
        index, test_size=split["test_size"], stratify=y, random_state=seed
    )
    return np.sort(train), np.sort(test)


def imbalance_train(train: np.ndarray, y: np.ndarray, ratio: float, seed: int) -> np.ndarray:
    """Subsample ``train`` (indices into ``y``) so class ``k`` of ``K`` keeps
    ``n_max * ratio ** (-k / (K - 1))`` samples (at least 1): sizes decay geometrically from the
    largest class size for class 0 to ``n_max / ratio`` for the last class. Seeded by ``seed``;
    the test split is left as it is."""
    train = np.asarray(train)
    classes = np.unique(y[train])
    if len(classes) < 2:
        return train
    n_max = max(int(np.sum(y[train] == c)) for c in classes)
    rng = np.random.default_rng([seed, 7919])
    keep = []
    for k, c in enumerate(classes):
        members = train[y[train] == c]
        target = max(1, int(round(n_max * ratio ** (-k / (len(classes) - 1)))))
        keep.append(rng.choice(members, size=min(target, len(members)), replace=False))
    return np.sort(np.concatenate(keep))
