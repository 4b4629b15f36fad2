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
