"""The baseline every fusion is measured against: one modality, one classifier."""

from __future__ import annotations

from typing import Any

import numpy as np

from mmbench.protocols import FusionBase, MakeClassifier, Views


class Unimodal(FusionBase):
    """One modality alone (added automatically for every modality of a suite).

    Missing modality: a test sample without it gets the training class prior.

    :param modality: the modality classified; the planner sets it, one row per modality.
    """

    level = "unimodal"
    min_modalities = 1

    def __init__(self, *, modality: str = "image") -> None:
        if not isinstance(modality, str) or not modality:
            raise ValueError(f"modality must be a modality name, got {modality!r}")
        self.modality = modality
        self.clf_: Any = None

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> Unimodal:
        self._set_classes(y)
        self.clf_ = make_classifier().fit(views[self.modality], y)
        return self

    def predict_proba(self, views: Views) -> np.ndarray:
        return self._proba_or_prior(self.clf_, views[self.modality])
