"""Helpers shared by the fusion strategies: parameter checks, per-view standardization with
missing-row imputation, PCA projection and dimension checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmbench.protocols import Views, missing_rows


def check_alpha(alpha: Any) -> float:
    """``alpha`` as a float in [0, 1], or a ValueError saying what is wrong."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def alpha_notes(params: Mapping[str, Any], default_primary: str = "image") -> list[str]:
    """Leaderboard marks of an ``alpha``-weighted fusion whose weight leaves one side out:
    ``image alone`` (alpha = 1) or ``image unused`` (alpha = 0)."""
    alpha, primary = params.get("alpha"), params.get("primary", default_primary)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        return []
    if alpha == 1:
        return [f"{primary} alone"]
    return [f"{primary} unused"] if alpha == 0 else []


def check_positive_int(name: str, value: Any, *, optional: bool = False) -> int | None:
    """``value`` as a positive int (or None when ``optional``), else a ValueError."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        allowed = "a positive integer or omitted" if optional else "a positive integer"
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_seed(value: Any) -> int | None:
    """``random_state``: None or a non-negative integer, else a ValueError."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise ValueError(f"random_state must be a non-negative integer or omitted, got "
                         f"{value!r}")
    return value


def check_device(device: Any) -> str:
    """``cpu``, ``cuda`` or ``cuda:N``."""
    if not isinstance(device, str) or not (device == "cpu" or device.startswith("cuda")):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return device


def dims_problems(name: str, param: str, value: int | None, dims: Mapping[str, int | None],
                  *, exactly_two: bool = False) -> list[str]:
    """Plan-time problems: ``value`` larger than a view's (known) dimension; more or fewer than
    two modalities for a two-view method."""
    problems = []
    if exactly_two and len(dims) != 2:
        problems.append(
            f"fusion {name!r} fuses exactly two modalities, got {len(dims)} "
            f"({', '.join(dims)}); restrict it with modalities = [...]")
    if value is not None:
        for m, d in dims.items():
            if d is not None and value > d:
                problems.append(
                    f"{param}={value} for fusion {name!r} exceeds the {m} features' dimension "
                    f"({d}); use {param} <= {d}")
    return problems


def resolve_dim(param: str, value: int | None, dims: Mapping[str, int], n_train: int,
                default: int) -> int:
    """The dimension to use: ``value`` if it fits every view (else a ValueError), or
    ``min(default, smallest view dimension, n_train - 1)`` when ``value`` is None."""
    limit = min(min(dims.values()), max(n_train - 1, 1))
    if value is None:
        return max(1, min(default, limit))
    if value > limit:
        which = ", ".join(f"{m}: {d}" for m, d in dims.items())
        raise ValueError(f"{param}={value} exceeds what the training views allow ({which}; "
                         f"{n_train} training samples); use {param} <= {limit}")
    return value


class Standardizer:
    """Per-view standardization with training statistics; missing rows (all NaN) become the
    training mean, i.e. zeros after standardization."""

    def fit(self, views: Views) -> Standardizer:
        self.mean_ = {m: np.asarray(v, dtype=np.float64).mean(axis=0) for m, v in views.items()}
        self.scale_ = {}
        for m, v in views.items():
            std = np.asarray(v, dtype=np.float64).std(axis=0)
            self.scale_[m] = np.where(std > 1e-8, std, 1.0)
        return self

    def transform_one(self, m: str, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64)
        x[missing_rows(x)] = self.mean_[m]
        return (x - self.mean_[m]) / self.scale_[m]

    def transform(self, views: Views) -> dict[str, np.ndarray]:
        return {m: self.transform_one(m, views[m]) for m in self.mean_}


class Projector:
    """Per-view standardization then PCA to ``dim`` components (fitted on train only), each
    projected view scaled to unit total variance so no modality dominates by scale.
    Missing rows become the training mean (zeros)."""

    def __init__(self, dim: int, random_state: int | None = None) -> None:
        self.dim = dim
        self.random_state = random_state

    def fit(self, views: Views) -> Projector:
        from sklearn.decomposition import PCA

        self.std_ = Standardizer().fit(views)
        z = self.std_.transform(views)
        self.pca_ = {}
        self.norm_ = {}
        for m, x in z.items():
            pca = PCA(n_components=self.dim, svd_solver="auto", random_state=self.random_state)
            p = pca.fit_transform(x)
            self.pca_[m] = pca
            self.norm_[m] = max(float(np.sqrt((p**2).sum(axis=1).mean())), 1e-12)
        return self

    def transform(self, views: Views) -> dict[str, np.ndarray]:
        z = self.std_.transform(views)
        return {m: self.pca_[m].transform(x) / self.norm_[m] for m, x in z.items()}
