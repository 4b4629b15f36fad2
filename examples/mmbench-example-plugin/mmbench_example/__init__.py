"""An example third-party mmbench plugin: a cosine k-nearest-neighbours classifier."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import mmbench


class CosineKNN(ClassifierMixin, BaseEstimator):
    """k-nearest neighbours on L2-normalized features (cosine similarity), distance-weighted."""

    def __init__(self, *, n_neighbors: int = 10) -> None:
        if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int) or n_neighbors < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
        self.n_neighbors = n_neighbors

    def fit(self, X: np.ndarray, y: np.ndarray) -> "CosineKNN":
        from sklearn.neighbors import KNeighborsClassifier
        from sklearn.preprocessing import normalize

        X, y = validate_data(self, X, y)  # finite 2-d floats; sets n_features_in_
        check_classification_targets(y)
        k = min(self.n_neighbors, len(y))
        self.model_ = KNeighborsClassifier(n_neighbors=k, weights="distance", metric="cosine")
        self.model_.fit(normalize(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from sklearn.preprocessing import normalize

        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict_proba(normalize(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        proba = self.predict_proba(X)  # checks the fit first
        return self.classes_[np.argmax(proba, axis=1)]


@mmbench.hookimpl
def mmbench_register_classifiers(register):
    register(CosineKNN, name="cosine-knn")
