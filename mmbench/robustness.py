"""Robustness sweeps: corrupt the test inputs at several levels and score a cell's fitted fusion.

Corruptions (the suite's ``[robustness]`` section gives each one's levels) apply by the
modality's kind (``MultimodalData.kind``), not its name: ``text_*`` to every text modality a cell
uses (``text``, ``title``, ``question``...), ``image_*`` to every image modality, ``numeric_*``
to every tabular one; each modality not named after its kind gets its own random stream.

- ``text_missing`` / ``image_missing`` / ``numeric_missing``: a share of test samples lose the
  modality; their rows in that view are all NaN (the missing-modality convention of
  :mod:`mmbench.protocols`).
- ``text_dropout``: each word of each caption is dropped with probability ``level``.
- ``text_swap``: a share of test samples get another test sample's caption.
- ``image_noise``: additive Gaussian noise, std ``level`` in pixel units (0-255), clipped.
- ``image_blur``: Gaussian blur with sigma ``level`` pixels.
- ``numeric_noise``: additive Gaussian noise on every numeric column, std ``level`` times that
  column's std over the test rows (missing cells and string columns left as they are).

Corrupted inputs are featurized again (with the featurizer fitted on the cell's training split
when it learns from data), cached under keys that include the corruption, its level and the
seed. The corruption's randomness depends on the seed only, so every cell of one seed sees the
same corrupted test set and their curves are paired. The fusion is fitted once, on clean data.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .cache import FeatureCache
from .errors import MmbenchError
from .featurize import FeatureProvider, FeaturizationError, check_features, index_digest
from .featurize import instantiate
from .plan import Cell, Variant
from .protocols import MultimodalData, distinct_rows

#: corruption -> the kind of modality it touches (every modality of that kind a cell uses)
CORRUPTIONS = {
    "text_missing": "text", "image_missing": "image", "text_dropout": "text",
    "text_swap": "text", "image_noise": "image", "image_blur": "image",
    "numeric_missing": "numeric", "numeric_noise": "numeric",
}
#: Bump when a corruption's definition changes (part of the feature cache key).
CORRUPTION_VERSION = "1"

#: (corruption, level, test views) for one cell.
RobustViews = list[tuple[str, float, dict[str, np.ndarray]]]


def corruption_rng(name: str, level: float, seed: int,
                   modality: str | None = None) -> np.random.Generator:
    """The generator of one corruption at one level for one seed (stable across runs); a
    modality not named after its kind (``title``) gets its own stream."""
    key = [seed, zlib.crc32(name.encode()), int(round(level * 1e6))]
    if modality is not None and modality != CORRUPTIONS.get(name):
        key.append(zlib.crc32(modality.encode()))
    return np.random.default_rng(key)


def chosen(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask choosing ``round(share * n)`` of ``n`` samples."""
    mask = np.zeros(n, dtype=bool)
    mask[rng.permutation(n)[: int(round(share * n))]] = True
    return mask


def corrupt(name: str, samples: Any, level: float, rng: np.random.Generator) -> Any:
    """The corrupted copy of one modality's samples (not for ``*_missing``)."""
    if name == "text_dropout":
        out = []
        for text in samples:
            words = text.split()
            keep = rng.random(len(words)) >= level
            out.append(" ".join(w for w, k in zip(words, keep) if k))
        return out
    if name == "text_swap":
        out = list(samples)
        idx = np.flatnonzero(chosen(len(out), level, rng))
        if len(idx) >= 2:
            order = rng.permutation(idx)
            for src, dst in zip(np.roll(order, 1), order):
                out[dst] = samples[src]
        return out
    if name == "numeric_noise":
        table = samples.copy()
        for column in table.columns:
            values = table[column]
            if values.dtype.kind in "biuf":
                std = float(np.nanstd(values.to_numpy(dtype=float))) if len(values) else 0.0
                table[column] = values.astype(float) + rng.normal(0.0, level * std, len(values))
        return table
    images = np.asarray(samples)
    if name == "image_noise":
        noisy = images.astype(np.float32) + rng.normal(0.0, level, images.shape)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    if name == "image_blur":
        from scipy.ndimage import gaussian_filter

        blurred = gaussian_filter(images.astype(np.float32), sigma=(0, level, level, 0))
        return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    raise ValueError(f"unknown corruption {name!r}; known: {', '.join(CORRUPTIONS)}")


class Corrupter:
    """Corrupted test views for the cells of one run (featurized once per featurizer, corruption,
    level and split)."""

    def __init__(self, provider: FeatureProvider, sweeps: Mapping[str, list[float]]) -> None:
        self.provider = provider
        self.sweeps = {k: [v for v in levels if v > 0] for k, levels in sweeps.items()}
        self._fitted: dict[tuple[Variant, str], Any] = {}

    def views(self, cell: Cell, data: MultimodalData, train: np.ndarray, test: np.ndarray,
              clean: Mapping[str, np.ndarray]) -> RobustViews:
        """Per corruption and non-zero level, the cell's test views with that corruption."""
        out: RobustViews = []
        feats = dict(cell.featurizers)
        for name, levels in self.sweeps.items():
            touched = [m for m in feats if data.kind(m) == CORRUPTIONS[name]]
            for level in levels:
                views = dict(clean)
                for modality in touched:
                    views[modality] = self._view(name, level, cell.seed, modality,
                                                 feats[modality], data, train, test,
                                                 clean[modality])
                out.append((name, level, views))
        return out

    def _view(self, name: str, level: float, seed: int, modality: str, variant: Variant,
              data: MultimodalData, train: np.ndarray, test: np.ndarray,
              clean: np.ndarray) -> np.ndarray:
        rng = corruption_rng(name, level, seed, modality)
        if name.endswith("_missing"):
            x = np.array(clean, dtype=np.float32)
            x[chosen(len(x), level, rng)] = np.nan
            return x
        provider = self.provider
        entry = provider._entry(variant)
        rows = data.subset(test).modalities[modality]
        samples, expand = distinct_rows(rows)  # shared rows: corrupted and featurized once each
        fits = bool(entry.cls.fits_on_train)
        split = index_digest(train, test) if fits else index_digest(test)
        base = provider._base_key(data, variant, entry)
        key = FeatureCache.key(**base, split=split, part="test", corruption=name, level=level,
                               corruption_seed=seed, corruption_version=CORRUPTION_VERSION)
        who = f"featurizer {variant.label} on {len(samples)} {name}({level}) samples"

        def compute() -> np.ndarray:
            try:
                feat = self._featurizer(variant, entry, data, modality, train, fits, split)
                x = feat.transform(corrupt(name, samples, level, rng))
            except MmbenchError:
                raise
            except Exception as exc:
                raise FeaturizationError(f"{who} failed: {type(exc).__name__}: {exc}") from exc
            return check_features(x, len(samples), who, test if expand is None else None)

        x = provider._compute(key, compute, base)
        return np.asarray(x if expand is None else x[expand])

    def _featurizer(self, variant: Variant, entry: Any, data: MultimodalData, modality: str,
                    train: np.ndarray, fits: bool, split: str) -> Any:
        memo = (variant, split if fits else "")
        if memo not in self._fitted:
            feat = instantiate(entry, variant, self.provider.context)
            if fits:
                fit_on = distinct_rows(data.subset(train).modalities[modality])[0]
                feat = feat.fit(fit_on) or feat
            self._fitted[memo] = feat
        return self._fitted[memo]


def area(levels: list[float], values: list[float]) -> float:
    """Area under the metric-vs-level curve, levels rescaled to [0, 1] (trapezoid rule); equals
    the clean score for a model that never degrades."""
    lv = np.asarray(levels, dtype=float)
    vals = np.asarray(values, dtype=float)
    if len(lv) < 2 or lv.max() <= 0:
        return float(vals.mean()) if len(vals) else float("nan")
    return float(np.trapezoid(vals, lv / lv.max()))


def curves(clean: Mapping[str, Any], scored: list[tuple[str, float, Any]],
           metrics: tuple[str, ...]) -> dict[str, Any]:
    """The ``robustness`` part of a cell record: per corruption, levels (0 = clean) and each
    metric's curve, its area (``auc``) and ``relative`` = auc / clean score; or an ``error``."""
    out: dict[str, Any] = {}
    for name, level, result in scored:
        entry = out.setdefault(name, {"levels": [0.0], **{m: [clean[m]] for m in metrics}})
        if "error" in entry:
            continue
        if isinstance(result, BaseException):
            out[name] = {"error": f"{type(result).__name__}: {result}"}
            continue
        entry["levels"].append(float(level))
        for m in metrics:
            entry[m].append(float(result[m]))
    for entry in out.values():
        if "error" in entry:
            continue
        entry["auc"] = {m: area(entry["levels"], entry[m]) for m in metrics}
        entry["relative"] = {m: (entry["auc"][m] / clean[m] if clean[m] > 0 else float("nan"))
                             for m in metrics}
    return out
