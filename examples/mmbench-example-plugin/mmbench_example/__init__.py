"""An example third-party mmbench plugin: a cosine k-nearest-neighbours classifier."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

import mmbench


class CosineKNN(ClassifierMixin, BaseEstimator):
    """k-nearest neighbours on L2-normalized features (cosine similarity), distance-weighted."""

    def __init__(self, *, n_neighbors: int = 10) -> None:
        if not isinstance(n_neighbors, int) or n_neighbors < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
        self.n_neighbors = n_neighbors

    def fit(self, X: np.ndarray, y: np.ndarray) -> "CosineKNN":
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.preprocessing import normalize

        k = min(self.n_neighbors, len(y))
        self.model_ = KNeighborsClassifier(n_neighbors=k, weights="distance", metric="cosine")
        self.model_.fit(normalize(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from sklearn.preprocessing import normalize

        return self.model_.predict_proba(normalize(X))


@mmbench.hookimpl
def mmbench_register_classifiers(register):
    register(CosineKNN, name="cosine-knn")
