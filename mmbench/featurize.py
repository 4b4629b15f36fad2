"""Featurize once: each (dataset, featurizer, params, version[, split]) is computed a single time
and kept in the :class:`~mmbench.cache.FeatureCache`.

A featurizer that does not learn from data (``fits_on_train = False``: pretrained networks,
HOG) is applied to all samples once and its matrix reused by every split and seed. One that
does (TF-IDF) is fitted on each training split and cached per split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .cache import FeatureCache
from .errors import MmbenchError, PluginOutputError
from .plan import Variant
from .protocols import MultimodalData
from .registry import CONTEXT_PARAMS, Entry, build
from .resources import check_featurization_memory


class FeaturizationError(MmbenchError):
    """A featurizer failed or returned something that is not a float32[N, D] matrix."""


def index_digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def instantiate(entry: Entry, variant: Variant, context: Mapping[str, Any]) -> Any:
    """Build a plugin from its variant, filling in context params (seed, device) it accepts
    and the suite did not set."""
    params = variant.kwargs
    for name in CONTEXT_PARAMS:
        if name in entry.params and name not in params and name in context:
            params[name] = context[name]
    return build(entry, params)


def check_features(x: Any, n: int, who: str, index: np.ndarray | None = None) -> np.ndarray:
    """``x`` as float32[n, D], or a :class:`PluginOutputError` naming the featurizer and, for
    NaN or inf, the first offending samples (their dataset indices: ``index[row]`` when the
    rows are a subset)."""
    try:
        x = np.asarray(x)
        ok = x.ndim == 2 and x.shape[0] == n and x.dtype.kind in "biuf"
    except Exception:  # something that is not array-like at all
        ok = False
    if not ok:
        shape = getattr(x, "shape", type(x).__name__)
        raise PluginOutputError(f"{who} returned {shape} {getattr(x, 'dtype', '')}; expected "
                                f"a float32 ({n}, D) matrix (one row per sample)")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        rows = np.flatnonzero(~np.isfinite(x).all(axis=1))
        rows = rows if index is None else np.asarray(index)[rows]
        shown = ", ".join(str(i) for i in rows[:5]) + (" ..." if len(rows) > 5 else "")
        raise PluginOutputError(
            f"{who} returned NaN or inf features for {len(rows)} of {n} samples (sample "
            f"index {shown}); nothing was cached or recorded for it: fix the featurizer or "
            f"those samples")
    return x


class FeatureProvider:
    """Features for (featurizer variant, split), computed once and cached."""

    def __init__(self, cache: FeatureCache, catalog: Any, context: Mapping[str, Any]) -> None:
        self.cache = cache
        self.catalog = catalog
        self.context = dict(context)
        self.computed = 0  # how many matrices were actually computed (not read from cache)
        self._memo: dict[str, np.ndarray] = {}

    def _entry(self, variant: Variant) -> Entry:
        return self.catalog["featurizer"].get(variant.name)

    @staticmethod
    def _check_memory(feat: Any, samples: Any, who: str, entry: Entry) -> None:
        """Refuse, before computing, a featurization whose estimate exceeds free memory."""
        check_featurization_memory(feat, samples, who, "batch_size" in entry.params)

    def _base_key(self, data: MultimodalData, variant: Variant, entry: Entry) -> dict[str, Any]:
        return {
            "dataset": data.fingerprint,
            "featurizer": variant.name,
            "params": variant.kwargs,
            "version": getattr(entry.cls, "version", "1"),
            "plugin": entry.distribution,
        }

    def _compute(self, key: str, fn: Any, meta: dict[str, Any]) -> np.ndarray:
        """The matrix for ``key``: from this run's memo, else the verified cache, else ``fn()``
        (so a matrix used by many cells is read and checksummed once per run)."""
        if key in self._memo:
            return self._memo[key]
        x = self.cache.get(key)
        if x is None:
            x = fn()
            self.cache.put(key, x, meta)
            self.computed += 1
        self._memo[key] = x
        return x

    def features(
        self,
        variant: Variant,
        data: MultimodalData,
        train: np.ndarray,
        test: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(train features, test features) for ``variant`` on this split of ``data``."""
        entry = self._entry(variant)
        modality = entry.cls.modality
        samples = data.modalities[modality]
        base = self._base_key(data, variant, entry)
        who = (f"featurizer {variant.label} (plugin {entry.plugin}) on {len(samples)} {modality} "
               f"samples")

        def run(step: Any) -> np.ndarray:
            try:
                return step()
            except MmbenchError:
                raise
            except Exception as exc:
                raise FeaturizationError(f"{who} failed: {type(exc).__name__}: {exc}") from exc

        if not entry.cls.fits_on_train:
            def transform_all() -> np.ndarray:
                feat = instantiate(entry, variant, self.context)
                self._check_memory(feat, samples, who, entry)
                return check_features(run(lambda: feat.transform(samples)), len(samples), who)

            x = self._compute(FeatureCache.key(**base, scope="all"), transform_all, base)
            return np.asarray(x[train]), np.asarray(x[test])

        split = index_digest(train, test)
        sub = data.subset(train).modalities[modality], data.subset(test).modalities[modality]
        fitted: list[Any] = []

        def fit_transform(part: int) -> Any:
            def go() -> np.ndarray:
                if not fitted:
                    feat = instantiate(entry, variant, self.context)
                    self._check_memory(feat, sub[0], who, entry)
                    fitted.append(run(lambda: feat.fit(sub[0])) or feat)
                out = run(lambda: fitted[0].transform(sub[part]))
                return check_features(out, len(sub[part]), who, (train, test)[part])
            return go

        xtr = self._compute(FeatureCache.key(**base, split=split, part="train"),
                            fit_transform(0), base)
        xte = self._compute(FeatureCache.key(**base, split=split, part="test"),
                            fit_transform(1), base)
        return np.asarray(xtr), np.asarray(xte)
