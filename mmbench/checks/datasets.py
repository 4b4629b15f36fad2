"""Dataset rules: the declared modalities, labels, sample types, a stable fingerprint."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..protocols import KINDS, MultimodalData
from .base import cached, contract, fail, fresh, plugin_class, shape


def _load(plugin: Any, shared: bool = True) -> MultimodalData:
    def compute() -> MultimodalData:
        data = fresh(plugin).load()
        if not isinstance(data, MultimodalData):
            fail(plugin, f"load() must return mmbench.protocols.MultimodalData, got "
                         f"{type(data).__name__}")
        return data

    return cached(("load", id(plugin)), compute) if shared else compute()


def check_dataset_contract(plugin: Any) -> None:
    """Has ``load`` and ``modalities``, a non-empty tuple of modality names."""
    contract("dataset", plugin)
    mods = plugin_class(plugin).modalities
    if not isinstance(mods, (tuple, list)) or not mods or not all(
            isinstance(m, str) and m for m in mods):
        fail(plugin, f"modalities must be a non-empty tuple of modality names such as "
                     f"('image', 'text'), got {mods!r}")


def check_dataset_load(plugin: Any) -> MultimodalData:
    """``load()`` returns :class:`MultimodalData` with the modalities the class declares."""
    data = _load(plugin)
    # an instance may name its own modalities (a table dataset's come from its parameters)
    declared, loaded = set(getattr(plugin, "modalities")), set(data.modalities)
    if declared != loaded:
        fail(plugin, f"modalities declares {sorted(declared)} but load() returned "
                     f"{sorted(loaded)}; suites are validated against the declaration")
    kinds = getattr(plugin, "kinds", None)
    if isinstance(kinds, dict):
        wrong = [m for m, k in kinds.items() if m in data.modalities and data.kind(m) != k]
        if wrong:
            m = wrong[0]
            fail(plugin, f"kinds declares {m!r} as {kinds[m]!r} but load() returned a "
                         f"{data.kind(m)!r} modality; suites are validated against the "
                         f"declaration")
    return data


def check_dataset_labels(plugin: Any) -> None:
    """``y`` is ``int[N]`` in ``range(len(class_names))``, with at least two classes."""
    data = _load(plugin)
    y, names = np.asarray(data.y), data.class_names
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        fail(plugin, f"y is {y.dtype} of shape {shape(y)} but labels must be int64[N]")
    if not all(isinstance(c, str) for c in names) or len(set(names)) != len(names):
        fail(plugin, f"class_names must be distinct strings, got {names!r}")
    if len(y) and (y.min() < 0 or y.max() >= len(names)):
        fail(plugin, f"labels must lie in range({len(names)}) (one per class name), got "
                     f"{y.min()}..{y.max()}")
    if len(np.unique(y)) < 2:
        fail(plugin, f"load() returned {len(np.unique(y))} distinct label(s); a benchmark "
                     f"needs at least 2 classes")


def check_dataset_samples(plugin: Any) -> None:
    """By kind (``MultimodalData.kind``, whatever the modality is named): images are
    ``uint8[N, H, W, 3]`` arrays, texts lists of ``str``, numeric modalities a ``DataFrame`` or
    a 2-d number array; one sample per label."""
    data = _load(plugin)
    n = len(data.y)
    for name, samples in data.modalities.items():
        # the declared kind, else the kind the name says ('image'), else the samples' own
        kind = data.kinds.get(name) or (name if name in KINDS else data.kind(name))
        if kind == "image":
            distinct = getattr(samples, "distinct", samples)  # SharedSamples: its distinct ones
            x = np.asarray(distinct) if isinstance(distinct, np.ndarray) else None
            if x is None or x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
                got = (f"{x.dtype} of shape {shape(x)}" if x is not None
                       else type(samples).__name__)
                fail(plugin, f"modality {name!r} is {got} but images must be "
                             f"uint8[N, H, W, 3]")
        elif kind == "text":
            samples = getattr(samples, "distinct", samples)  # SharedSamples: its distinct ones
            if not isinstance(samples, list):
                fail(plugin, f"modality {name!r} is a {type(samples).__name__} but texts must "
                             f"be a list of str")
            bad = [i for i, s in enumerate(samples) if not isinstance(s, str)]
            if bad:
                fail(plugin, f"modality {name!r} holds {type(samples[bad[0]]).__name__} at "
                             f"index {bad[0]} ({len(bad)} non-str samples); texts must be str")
        elif not hasattr(samples, "iloc") and not (
                isinstance(samples, np.ndarray) and samples.ndim == 2
                and samples.dtype.kind in "biuf"):
            fail(plugin, f"modality {name!r} is numeric but a {type(samples).__name__}; "
                         f"tabular data must be a pandas DataFrame or a 2-d number array")
        if len(data.modalities[name]) != n:  # pragma: no cover - MultimodalData refuses this
            fail(plugin, f"modality {name!r} has {len(data.modalities[name])} samples for {n} "
                         f"labels")


def check_dataset_fingerprint(plugin: Any) -> None:
    """A non-empty fingerprint, the same on every load of the same data (feature-cache key)."""
    first, second = _load(plugin), _load(plugin, shared=False)
    if not isinstance(first.fingerprint, str) or not first.fingerprint:
        fail(plugin, f"fingerprint must be a non-empty content hash, got {first.fingerprint!r}")
    if first.fingerprint != second.fingerprint:
        fail(plugin, "two load() calls gave different fingerprints; build the fingerprint from "
                     "the content, not from time or randomness")
    if not np.array_equal(first.y, second.y):
        fail(plugin, "two load() calls gave different labels; a dataset must load the same "
                     "samples every time (seed any sampling)")


