"""Decision-level (late) fusion: one classifier per modality, probabilities combined."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmbench.protocols import FusionBase, MakeClassifier, Views


class LateMean(FusionBase):
    """One classifier per modality; the mean of their class probabilities."""

    level = "decision"
    min_modalities = 2

    def __init__(self) -> None:
        self.clfs_: dict[str, Any] = {}

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> LateMean:
        self._set_classes(y)
        self.clfs_ = {m: make_classifier().fit(v, y) for m, v in views.items()}
        return self

    def modality_probas(self, views: Views) -> dict[str, np.ndarray]:
        return {m: self._full_proba(c, views[m]) for m, c in self.clfs_.items()}

    def predict_proba(self, views: Views) -> np.ndarray:
        return np.mean(list(self.modality_probas(views).values()), axis=0)
