"""Feature-level (early) fusion: combine the feature vectors, then one classifier."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from mmbench.protocols import MakeClassifier, RepresentationFusion, Views, missing_rows

from .common import (Projector, alpha_notes, check_alpha, check_positive_int, check_seed,
                     dims_problems, resolve_dim)

NORMALIZATIONS = ("standard", "l2", "none")


class Concat(RepresentationFusion):
    """Concatenate the modalities' features (each standardized or L2-normalized first).

    Missing modality: its block is imputed with the training mean of that modality's features.

    :param normalize: how each modality's block is scaled before concatenation: ``"standard"``
        (zero mean, unit variance per feature, from the training split), ``"l2"`` (each row to
        unit length) or ``"none"``.
    """

    level = "feature"
    min_modalities = 2

    def __init__(self, *, normalize: Literal["standard", "l2", "none"] = "standard") -> None:
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

    def represent(self, views: Views) -> np.ndarray:
        """The normalized blocks side by side (a missing block: the training mean)."""
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
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self


PROJECTIONS = ("pca", "identity")


class WeightedSum(RepresentationFusion):
    """H = alpha * F + (1 - alpha) * G: the modalities projected to one dimension, then summed.

    ``projection="pca"`` standardizes each modality and projects it with a PCA fitted on the
    training split to ``dim`` components (default: min(64, smallest view dimension)), scaled to
    unit mean norm; ``"identity"`` keeps features that already share a space (CLIP image and
    text embeddings), L2-normalized unless ``normalize=false``. ``alpha`` weighs ``primary``
    (default ``image``); the other modalities share ``1 - alpha`` equally.

    Missing modality: its projected vector is the training mean (zero after centering for PCA,
    the mean embedding for identity), so H is the present modalities' weighted part.

    Rows with ``alpha`` 1 or 0 are marked (``image alone``, ``image unused``).

    :param alpha: the weight, in [0, 1], of the ``primary`` modality; the others share
        ``1 - alpha`` equally.
    :param projection: ``"pca"`` (standardize, then a PCA fitted on the training split) or
        ``"identity"`` (features that already share a space, such as CLIP's two towers).
    :param dim: with ``"pca"``: the common dimension (not set: min(64, the smallest view's
        dimension)); must not exceed any view's dimension.
    :param primary: the modality ``alpha`` weighs; it must be among the fused ones.
    :param normalize: with ``"identity"``: L2-normalize each embedding before summing.
    """

    level = "feature"
    min_modalities = 2

    def __init__(self, *, alpha: float = 0.5, projection: Literal["pca", "identity"] = "pca",
                 dim: int | None = None,
                 primary: str = "image", normalize: bool = True,
                 random_state: int | None = None) -> None:
        self.alpha = check_alpha(alpha)
        if projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, got {projection!r}")
        self.projection = projection
        self.dim = check_positive_int("dim", dim, optional=True)
        if projection == "identity" and dim is not None:
            raise ValueError("dim applies to projection='pca' only; identity keeps the features")
        if not isinstance(primary, str) or not primary:
            raise ValueError(f"primary must be a modality name, got {primary!r}")
        if not isinstance(normalize, bool):
            raise ValueError(f"normalize must be true or false, got {normalize!r}")
        self.primary = primary
        self.normalize = normalize
        self.random_state = check_seed(random_state)
        self.clf_: Any = None

    @classmethod
    def notes(cls, params: dict[str, Any]) -> list[str]:
        """``image alone`` at ``alpha = 1``, ``image unused`` at ``alpha = 0``."""
        return alpha_notes(params)

    def check_dims(self, dims: Mapping[str, int | None]) -> list[str]:
        """Plan-time checks: ``primary`` is fused, ``dim`` fits, identity needs equal dims."""
        problems = []
        if self.primary not in dims:
            problems.append(f"primary={self.primary!r} for fusion 'weighted-sum' is not among "
                            f"its modalities ({', '.join(dims)})")
        if self.projection == "identity":
            known = {d for d in dims.values() if d is not None}
            if len(known) > 1:
                problems.append(
                    "projection='identity' for fusion 'weighted-sum' needs features of one "
                    f"dimension, got {dict(dims)}; use projection='pca'")
        return problems + dims_problems("weighted-sum", "dim", self.dim, dims)

    def weights(self, modalities: list[str]) -> dict[str, float]:
        """The weight of each modality: ``alpha`` for ``primary``, the rest share 1 - alpha."""
        others = [m for m in modalities if m != self.primary]
        return {m: self.alpha if m == self.primary else (1 - self.alpha) / len(others)
                for m in modalities}

    def project(self, views: Views) -> dict[str, np.ndarray]:
        """Each modality in the common space (missing rows: the training mean there)."""
        if self.projection == "pca":
            return self.proj_.transform(views)
        out = {}
        for m in self.means_:
            x = np.array(views[m], dtype=np.float64)
            x[missing_rows(x)] = np.nan
            if self.normalize:
                x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            x[np.isnan(x).all(axis=1)] = self.means_[m]
            out[m] = x
        return out

    def represent(self, views: Views) -> np.ndarray:
        """H, the weighted sum of the projected modalities."""
        projected = self.project(views)
        w = self.weights(sorted(projected))
        return sum(w[m] * projected[m] for m in sorted(projected))  # type: ignore[return-value]

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> WeightedSum:
        if self.primary not in views:
            raise ValueError(f"primary modality {self.primary!r} is not among {list(views)}")
        self._set_classes(y)
        dims = {m: int(v.shape[1]) for m, v in views.items()}
        if self.projection == "pca":
            dim = resolve_dim("dim", self.dim, dims, len(y), default=64)
            self.proj_ = Projector(dim, self.random_state).fit(views)
        elif len(set(dims.values())) > 1:
            raise ValueError(f"projection='identity' needs features of one dimension, got {dims}")
        self.means_ = {m: np.zeros(d) for m, d in dims.items()}
        if self.projection == "identity":
            self.means_ = {m: p.mean(axis=0) for m, p in self.project(views).items()}
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self

