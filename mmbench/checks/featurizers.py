"""Featurizer rules: ``fit`` returning self, finite ``float32[N, D]``, rows independent of
their batch, deterministic output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..protocols import MultimodalData
from .base import cached, contract, fail, fresh, plugin_class, returns_self, shape
from .data import tiny_data


@dataclass
class _Featurized:
    """One featurizer fitted on 70% of the samples, and its transforms."""

    featurizer: Any
    fit_result: Any
    n_samples: int
    n_train: int
    full: Any    # transform(all samples)
    unseen: Any  # transform(the other 30%)
    again: Any   # transform(all samples), a second time


def _featurize(plugin: Any, data: MultimodalData | None) -> _Featurized:
    def compute() -> _Featurized:
        nonlocal data
        data = data if data is not None else tiny_data()
        featurizer = fresh(plugin)
        modality = featurizer.modality
        if modality not in data.modalities:
            fail(plugin, f"modality {modality!r} is not in the test data "
                         f"{list(data.modalities)}; pass data=... with that modality")
        samples = data.modalities[modality]
        cut = int(len(data) * 0.7)
        fitted = featurizer.fit(samples[:cut])
        full = featurizer.transform(samples)
        return _Featurized(featurizer, fitted, len(samples), cut, full,
                           featurizer.transform(samples[cut:]),
                           featurizer.transform(samples))

    return cached(("featurize", id(plugin), id(data)), compute)


def _features(plugin: Any, out: Any, n: int, call: str) -> np.ndarray:
    x = np.asarray(out)
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[0] != n or x.shape[1] < 1:
        fail(plugin, f"{call} returned {x.dtype} of shape {shape(x)} but features must be "
                     f"float32[N, D] with N = {n} samples and D >= 1")
    return x


def check_featurizer_contract(plugin: Any) -> None:
    """Has ``modality`` (a name), ``version`` (a string), ``fits_on_train`` (a bool)."""
    contract("featurizer", plugin)
    cls = plugin_class(plugin)
    if not isinstance(cls.version, str) or not cls.version:
        fail(plugin, f"version must be a non-empty string (part of the cache key), got "
                     f"{cls.version!r}")
    if not isinstance(cls.fits_on_train, bool):
        fail(plugin, f"fits_on_train must be True or False, got {cls.fits_on_train!r}")


def check_featurizer_fit_returns_self(plugin: Any, data: MultimodalData | None = None) -> None:
    """``fit(samples)`` returns the featurizer itself."""
    run = _featurize(plugin, data)
    returns_self(plugin, run.featurizer, run.fit_result, "fit()")


def check_featurizer_output(plugin: Any, data: MultimodalData | None = None) -> np.ndarray:
    """``transform`` returns finite ``float32[N, D]``."""
    run = _featurize(plugin, data)
    x = _features(plugin, run.full, run.n_samples, "transform()")
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        fail(plugin, f"transform() returned {int(bad.sum())} NaN/inf values (first at row {r}, "
                     f"column {c}); features must be finite")
    return x


def check_featurizer_rows_independent(plugin: Any, data: MultimodalData | None = None) -> None:
    """Transforming unseen samples alone gives the same width and rows as within all samples
    (the runner featurizes in batches; a sample's features must not depend on its batch)."""
    run = _featurize(plugin, data)
    full = _features(plugin, run.full, run.n_samples, "transform(all)")
    n_unseen = run.n_samples - run.n_train
    part = _features(plugin, run.unseen, n_unseen, "transform(unseen)")
    if part.shape[1] != full.shape[1]:
        fail(plugin, f"transform() gave {full.shape[1]} columns for {full.shape[0]} samples but "
                     f"{part.shape[1]} for {n_unseen}; D must be fixed by fit()")
    rows = full[run.n_train:].astype(np.float64)
    diff = np.abs(part.astype(np.float64) - rows)
    tol = 1e-5 + 1e-4 * np.abs(rows)
    if (diff > tol).any():
        r = int(np.argwhere(diff > tol)[0][0])
        fail(plugin, f"row {r} of transform(unseen samples) differs from the same sample's row "
                     f"in transform(all samples) (max difference {diff.max():.3g}); each row "
                     f"must depend only on its own sample")


def check_featurizer_deterministic(plugin: Any, data: MultimodalData | None = None) -> None:
    """Two transforms of the same samples are equal (features are cached and reused)."""
    run = _featurize(plugin, data)
    a = _features(plugin, run.full, run.n_samples, "transform()")
    b = _features(plugin, run.again, run.n_samples, "transform()")
    if not np.allclose(a, b, rtol=1e-4, atol=1e-5):
        fail(plugin, "two transform() calls on the same samples differ; features are cached, "
                     "so they must be deterministic (seed any randomness)")


