"""Featurize once: each (dataset, featurizer, params, version[, split]) is computed a single time
and kept in the :class:`~mmbench.cache.FeatureCache`.

A featurizer that does not learn from data (``fits_on_train = False``: pretrained networks,
HOG) is applied to all samples once and its matrix reused by every split and seed. One that
does (TF-IDF) is fitted on each training split and cached per split.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .cache import FeatureCache
from .errors import MmbenchError, PluginOutputError
from .heap import reuse_freed_memory
from .modalities import featurizer_modality
from .plan import Variant
from .progress import activity
from .protocols import MultimodalData, distinct_rows
from .readonly import freeze, guard, plugin_input
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


@dataclass(frozen=True)
class FeaturizeJob:
    """One featurizer's work, runnable in any process (this one, or a GPU worker of a cluster):
    build ``variant`` with ``context``, fit it on ``fit_on`` (featurizers with
    ``fits_on_train``), and transform each of ``parts`` into a float32 matrix."""

    variant: Variant
    context: dict[str, Any]
    fit_on: Any
    parts: tuple[Any, ...]
    who: str
    #: each part's dataset indices (None: all samples), to name samples with bad features
    index: tuple[np.ndarray | None, ...] = ()


#: a worker's last built featurizer of a shard job (its model stays loaded for the next shard)
_kept: dict[str, Any] = {}


def run_job(job: FeaturizeJob, catalog: Any = None, keep: bool = False) -> list[np.ndarray]:
    """The matrices of ``job``; any failure is a :class:`FeaturizationError` naming it.

    ``keep``: reuse the featurizer built for the previous job of the same variant and context
    in this process (a worker computing shards loads the model once); only for featurizers
    that do not learn from data."""
    if catalog is None:
        from .plugins import get_catalog

        catalog = get_catalog()
    entry = catalog["featurizer"].get(job.variant.name)

    modality = featurizer_modality(entry, job.variant.kwargs)
    names = ([f"the {modality} samples of the {p} split" for p in ("training", "test")]
             if job.fit_on is not None and len(job.parts) == 2
             else [f"the {modality} samples"] * len(job.parts))

    def run(method: Any, part: Any, name: str) -> Any:
        given = plugin_input(part)  # read-only, or a list of its own
        try:
            with guard(job.who, {name: given}):
                return method(given)
        except MmbenchError:
            raise
        except Exception as exc:
            raise FeaturizationError(f"{job.who} failed: {type(exc).__name__}: {exc}") from exc

    kept_key = repr((job.variant.as_dict(), sorted(job.context.items())))
    feat = _kept.get(kept_key) if keep and job.fit_on is None else None
    if feat is None:
        feat = instantiate(entry, job.variant, job.context)
        if keep and job.fit_on is None:
            _kept.clear()  # one model per worker at a time
            _kept[kept_key] = feat
    # refused before computing if the estimate exceeds the memory of the process that runs it
    check_featurization_memory(feat, plugin_input(job.parts[0] if job.fit_on is None
                                                  else job.fit_on),
                               job.who, "batch_size" in entry.params)
    with reuse_freed_memory():  # a forward pass's activations reused, not faulted in anew
        if job.fit_on is not None:
            feat = run(feat.fit, job.fit_on, names[0]) or feat
        index = job.index or (None,) * len(job.parts)
        return [check_features(run(feat.transform, part, name), len(part), job.who, rows)
                for part, rows, name in zip(job.parts, index, names)]


def shardable(job: FeaturizeJob, size: int) -> bool:
    """Whether ``job`` can be split into shards of ``size`` samples: one part, more samples
    than that, and a featurizer that does not learn from them."""
    return job.fit_on is None and len(job.parts) == 1 and len(job.parts[0]) > size


def shard_jobs(job: FeaturizeJob, size: int) -> list[tuple[int, int, FeaturizeJob]]:
    """``job`` as consecutive shards of ``size`` samples: ``(start, stop, shard job)``, each
    shard's rows naming its samples in errors. Shards starting at multiples of the featurizer's
    batch give the same batches as one job, so the matrix assembled from them is the same."""
    samples = job.parts[0]
    index = job.index[0] if job.index else None
    out = []
    for a in range(0, len(samples), size):
        b = min(a + size, len(samples))
        rows = np.arange(a, b) if index is None else np.asarray(index)[a:b]
        out.append((a, b, FeaturizeJob(job.variant, job.context, None, (samples[a:b],), job.who,
                                       (rows,))))
    return out


def run_shard(job: FeaturizeJob, start: int, stop: int, where: str) -> np.ndarray:
    """A shard's matrix (samples ``start:stop``), computed in this process (a worker, which
    keeps the model for its next shard); a failure names the featurizer, the shard's sample
    range and ``where`` (the worker)."""
    try:
        return run_job(job, keep=True)[0]
    except Exception as exc:
        raise FeaturizationError(f"{job.who}: shard of samples {start}-{stop - 1} failed on "
                                 f"{where}: {exc}") from exc


class FeatureProvider:
    """Features for (featurizer variant, split), computed once and cached.

    Each :class:`FeaturizeJob` runs in this process, or through ``remote`` (an executor that
    featurizes on its workers); the cache stays in this process either way."""

    def __init__(self, cache: FeatureCache, catalog: Any, context: Mapping[str, Any],
                 remote: Callable[[FeaturizeJob], list[np.ndarray]] | None = None,
                 cost: Any = None) -> None:
        self.cache = cache
        self.cost = cost  # a mmbench.breakdown.Breakdown, or None
        self.catalog = catalog
        self.context = dict(context)
        self.run_job = remote or partial(run_job, catalog=catalog)
        self.computed = 0  # how many matrices were actually computed (not read from cache)
        self._memo: dict[str, np.ndarray] = {}

    def _entry(self, variant: Variant) -> Entry:
        return self.catalog["featurizer"].get(variant.name)

    def _base_key(self, data: MultimodalData, variant: Variant, entry: Entry) -> dict[str, Any]:
        return {
            "dataset": data.fingerprint,
            "featurizer": variant.name,
            "params": variant.kwargs,
            "version": getattr(entry.cls, "version", "1"),
            "plugin": entry.distribution,
        }

    def _compute(self, key: str, fn: Any, meta: dict[str, Any], label: str = "") -> np.ndarray:
        """The matrix for ``key``: from this run's memo, else the verified cache, else ``fn()``
        (so a matrix used by many cells is read and checksummed once per run)."""
        if key in self._memo:
            return self._memo[key]
        t0 = time.perf_counter()
        x = self.cache.get(key)
        t1 = time.perf_counter()
        if x is None:
            with activity(f"featurizing {label or meta.get('featurizer')}"):
                x = fn()
            t2 = time.perf_counter()
            self.cache.put(key, x, meta)
            self.computed += 1
            self._spent(f"featurizing {label or meta.get('featurizer')}", t2 - t0)
            self._spent("writing the feature cache", time.perf_counter() - t2)
        else:
            self._spent("reading cached features", t1 - t0)
        self._memo[key] = freeze(x)  # shared by every cell of the run: nobody writes into it
        return x

    def _spent(self, phase: str, seconds: float) -> None:
        if self.cost is not None:
            self.cost.add(phase, seconds)

    def features(
        self,
        variant: Variant,
        data: MultimodalData,
        train: np.ndarray,
        test: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(train features, test features) for ``variant`` on this split of ``data``."""
        entry = self._entry(variant)
        modality = featurizer_modality(entry, variant.kwargs)
        samples = data.modalities[modality]
        base = self._base_key(data, variant, entry)
        who = (f"featurizer {variant.label} (plugin {entry.plugin}) on {len(samples)} {modality} "
               f"samples")

        if not entry.cls.fits_on_train:
            # rows sharing a sample (SharedSamples) are featurized once per distinct sample
            distinct, expand = distinct_rows(samples)
            if expand is not None:
                who = (f"featurizer {variant.label} (plugin {entry.plugin}) on {len(distinct)} "
                       f"distinct {modality} samples ({len(samples)} rows)")
            job = FeaturizeJob(variant, self.context, None, (distinct,), who)
            scope = "all" if expand is None else "distinct"
            x = self._compute(FeatureCache.key(**base, scope=scope),
                              lambda: self.run_job(job)[0], base, variant.label)
            rows = (train, test) if expand is None else (expand[train], expand[test])
            return np.asarray(x[rows[0]]), np.asarray(x[rows[1]])

        split = index_digest(train, test)
        (fit_on, tr_rows), (te_on, te_rows) = (
            distinct_rows(data.subset(part).modalities[modality]) for part in (train, test))
        sub = fit_on, te_on
        if tr_rows is not None:
            who = (f"featurizer {variant.label} (plugin {entry.plugin}) on {len(fit_on)} + "
                   f"{len(te_on)} distinct {modality} samples ({len(samples)} rows)")
        both: list[np.ndarray] = []

        def part(i: int) -> Callable[[], np.ndarray]:
            def go() -> np.ndarray:
                if not both:  # fitted on the training part, both parts transformed at once
                    index = (train, test) if tr_rows is None else (None, None)
                    both.extend(self.run_job(FeaturizeJob(variant, self.context, sub[0], sub,
                                                          who, index)))
                return both[i]
            return go

        scope = {} if tr_rows is None else {"rows": "distinct"}
        xtr = self._compute(FeatureCache.key(**base, split=split, part="train", **scope),
                            part(0), base, variant.label)
        xte = self._compute(FeatureCache.key(**base, split=split, part="test", **scope),
                            part(1), base, variant.label)
        if tr_rows is None:
            return np.asarray(xtr), np.asarray(xte)
        return np.asarray(xtr[tr_rows]), np.asarray(xte[te_rows])

