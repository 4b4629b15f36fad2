"""Decision-level (late) fusion: one classifier per modality, probabilities combined."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmbench.protocols import FusionBase, MakeClassifier, Views, missing_rows


class LateMean(FusionBase):
    """One classifier per modality; the mean of their class probabilities.

    Missing modality: the mean over the modalities a sample has (the prior if it has none).
    """

    level = "decision"
    min_modalities = 2

    def __init__(self) -> None:
        self.clfs_: dict[str, Any] = {}

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> LateMean:
        self._set_classes(y)
        self.clfs_ = {m: make_classifier().fit(v, y) for m, v in views.items()}
        return self

    def modality_probas(self, views: Views) -> dict[str, np.ndarray]:
        """Per-modality probabilities; NaN rows where a sample lacks that modality."""
        out = {}
        for m, clf in self.clfs_.items():
            p = self._proba_or_prior(clf, views[m])
            p[missing_rows(views[m])] = np.nan
            out[m] = p
        return out

    def predict_proba(self, views: Views) -> np.ndarray:
        stacked = np.stack(list(self.modality_probas(views).values()))
        present = ~np.isnan(stacked[:, :, 0])
        mean = np.nansum(stacked, axis=0) / np.maximum(present.sum(axis=0), 1)[:, None]
        none = ~present.any(axis=0)
        mean[none] = self.prior_
        return mean
