"""Feature-level (early) fusion: combine the feature vectors, then one classifier."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmbench.protocols import FusionBase, MakeClassifier, Views, missing_rows

NORMALIZATIONS = ("standard", "l2", "none")


class Concat(FusionBase):
    """Concatenate the modalities' features (each standardized or L2-normalized first).

    Missing modality: its block is imputed with the training mean of that modality's features.
    """

    level = "feature"
    min_modalities = 2

    def __init__(self, *, normalize: str = "standard") -> None:
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
        self.normalize = normalize
        self.stats_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.clf_: Any = None

    def _norm(self, name: str, x: np.ndarray) -> np.ndarray:
        if self.normalize == "standard":
            mean, std = self.stats_[name]
            return (x - mean) / std
        if self.normalize == "l2":
            return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x

    def _stack(self, views: Views) -> np.ndarray:
        blocks = []
        for m in sorted(views):
            x = np.array(views[m], dtype=np.float64)
            x[missing_rows(x)] = self.means_[m]
            blocks.append(self._norm(m, x))
        return np.hstack(blocks)

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> Concat:
        self._set_classes(y)
        self.means_ = {m: v.mean(axis=0) for m, v in views.items()}
        self.stats_ = {
            m: (v.mean(axis=0), np.where(v.std(axis=0) > 1e-8, v.std(axis=0), 1.0))
            for m, v in views.items()
        }
        self.clf_ = make_classifier().fit(self._stack(views), y)
        return self

    def predict_proba(self, views: Views) -> np.ndarray:
        return self._full_proba(self.clf_, self._stack(views))
