"""Structure-level fusion: learn a shared representation of the modalities (on the training split
only), then train the cell's classifier on it. The torch-trained ones live in :mod:`.joint`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmbench.protocols import MakeClassifier, RepresentationFusion, Views, missing_rows

from .common import (Projector, Standardizer, check_positive_int, check_seed, dims_problems,
                     resolve_dim)


class _Subspace(RepresentationFusion):
    """Two views -> paired latent scores (CCA / PLS), averaged into one representation.

    :param n_components: number of latent components (not set: min(8, the smallest view's
        dimension)); at most each view's dimension and ``reduce``.
    :param reduce: each standardized view larger than this is first reduced by PCA to this many
        dimensions (fitted on the training split), which keeps the fit fast and regularized;
        ``None`` (from Python only: TOML has no null) skips the reduction.
    :param max_iter: iteration limit of scikit-learn's solver.
    """

    level = "structure"
    min_modalities = 2
    name = ""

    def __init__(self, *, n_components: int | None = None, reduce: int | None = 128,
                 max_iter: int = 500, random_state: int | None = None) -> None:
        self.n_components = check_positive_int("n_components", n_components, optional=True)
        self.reduce = check_positive_int("reduce", reduce, optional=True)
        if self.n_components and self.reduce and self.n_components > self.reduce:
            raise ValueError(f"n_components={n_components} exceeds reduce={reduce}, the PCA "
                             "dimension each modality is first reduced to")
        self.max_iter = check_positive_int("max_iter", max_iter)
        self.random_state = check_seed(random_state)
        self.clf_: Any = None

    def check_dims(self, dims: Mapping[str, int | None]) -> list[str]:
        """Plan-time checks: exactly two modalities; ``n_components`` <= each dimension."""
        return dims_problems(self.name, "n_components", self.n_components, dims,
                             exactly_two=True)

    def _prepare(self, views: Views) -> dict[str, np.ndarray]:
        """Standardized views, PCA-reduced to ``reduce`` dimensions where larger."""
        z = self.std_.transform(views)
        for m, pca in self.pca_.items():
            z[m] = pca.transform(z[m])
        return z

    def _model(self, n: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> _Subspace:
        if len(views) != 2:
            raise ValueError(f"{self.name} fuses exactly two modalities, got {list(views)}")
        self._set_classes(y)
        self.names_ = sorted(views)
        self.std_ = Standardizer().fit(views)
        dims = {m: int(v.shape[1]) for m, v in views.items()}
        n = resolve_dim("n_components", self.n_components, dims, len(y), default=8)
        self.pca_ = {}
        if self.reduce is not None:
            from sklearn.decomposition import PCA

            z = self.std_.transform(views)
            keep = min(self.reduce, len(y) - 1)
            self.pca_ = {m: PCA(keep, random_state=self.random_state).fit(z[m])
                         for m in self.names_ if dims[m] > keep}
        z = self._prepare(views)
        self.model_ = self._model(n).fit(z[self.names_[0]], z[self.names_[1]])
        a, b = self.model_.transform(z[self.names_[0]], z[self.names_[1]])
        self.score_stats_ = [(s.mean(axis=0), np.where(s.std(axis=0) > 1e-8, s.std(axis=0), 1))
                             for s in (a, b)]
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self

    def represent(self, views: Views) -> np.ndarray:
        """The shared representation: the mean of the two views' standardized latent scores
        (one view's scores alone where the other is missing; zeros where both are)."""
        x, w = (np.asarray(views[m]) for m in self.names_)
        z = self._prepare(views)
        a, b = self.model_.transform(z[self.names_[0]], z[self.names_[1]])
        a = (a - self.score_stats_[0][0]) / self.score_stats_[0][1]
        b = (b - self.score_stats_[1][0]) / self.score_stats_[1][1]
        has = np.stack([~missing_rows(x), ~missing_rows(w)]).astype(float)
        total = has.sum(axis=0)
        return (has[0, :, None] * a + has[1, :, None] * b) / np.maximum(total, 1)[:, None]


class CCA(_Subspace):
    """Canonical correlation analysis (scikit-learn) of two standardized modalities, each first
    reduced by PCA to ``reduce`` dimensions when larger, which keeps CCA fast and regularized;
    the classifier sees the mean of their standardized canonical variates.

    Missing modality: the present modality's canonical variates alone (the two are maximally
    correlated, so each estimates the shared part); both missing: the training mean (prior-like).
    """

    name = "cca"

    def _model(self, n: int) -> Any:
        from sklearn.cross_decomposition import CCA as SkCCA

        return SkCCA(n_components=n, scale=False, max_iter=self.max_iter)


class PLS(_Subspace):
    """Partial least squares, canonical mode (scikit-learn ``PLSCanonical``) of two
    standardized modalities (PCA-reduced to ``reduce`` dimensions first, as for ``cca``); the
    classifier sees the mean of their standardized latent scores.

    Missing modality: the present modality's scores alone; both missing: the training mean.
    """

    name = "pls"

    def _model(self, n: int) -> Any:
        from sklearn.cross_decomposition import PLSCanonical

        return PLSCanonical(n_components=n, scale=False, max_iter=self.max_iter)


class Tensor(RepresentationFusion):
    """Tensor fusion (Zadeh et al. 2017): each modality standardized and reduced by PCA (fitted
    on train) to ``dim`` components, a constant 1 appended, and the outer product of the
    modalities flattened (so it holds every unimodal feature and every cross-modal product) and
    standardized for the cell's classifier. Size: (dim + 1) ** k for k modalities.

    Missing modality: its reduced vector is the training mean (zeros), so only its bias 1
    survives and the product keeps the present modality's own terms.

    :param dim: PCA components kept per modality (not set: min(16, the modality's dimension));
        at most each modality's dimension.
    """

    level = "structure"
    min_modalities = 2

    def __init__(self, *, dim: int | None = None, random_state: int | None = None) -> None:
        self.dim = check_positive_int("dim", dim, optional=True)
        self.random_state = check_seed(random_state)
        self.clf_: Any = None

    def check_dims(self, dims: Mapping[str, int | None]) -> list[str]:
        """Plan-time check: ``dim`` <= each modality's dimension."""
        return dims_problems("tensor", "dim", self.dim, dims)

    def represent(self, views: Views) -> np.ndarray:
        """The flattened outer product of the reduced, bias-augmented modalities."""
        reduced = self.proj_.transform(views)
        out = np.ones((len(next(iter(reduced.values()))), 1))
        for m in sorted(reduced):
            r = np.hstack([reduced[m], np.ones((len(reduced[m]), 1))])
            out = np.einsum("ni,nj->nij", out, r).reshape(len(r), -1)
        return (out - self.mean_) / self.scale_

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> Tensor:
        self._set_classes(y)
        dims = {m: int(v.shape[1]) for m, v in views.items()}
        dim = resolve_dim("dim", self.dim, dims, len(y), default=16)
        self.proj_ = Projector(dim, self.random_state).fit(views)
        self.mean_, self.scale_ = 0.0, 1.0
        t = self.represent(views)
        std = t.std(axis=0)
        self.mean_, self.scale_ = t.mean(axis=0), np.where(std > 1e-8, std, 1.0)
        self.clf_ = make_classifier().fit(self.represent(views), y)
        return self
