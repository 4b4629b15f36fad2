"""The plugin author's test kit.

- :func:`tiny_data`: a two-modality dataset (images + captions, or with ``dims=`` feature
  views) that runs in a second on CPU and scales with ``n``.
- :func:`check_dataset`, :func:`check_featurizer`, :func:`check_fusion`,
  :func:`check_classifier`: run every conformance check of a kind (each raises
  ``AssertionError`` saying what is wrong; the checks themselves are in :mod:`mmbench.checks`).
- :func:`parametrize_with_checks`: the same checks as one pytest test each.
- :func:`registered`: a context manager that registers a plugin object in the process-wide
  catalog for one test and removes it afterwards (opt-in, nothing autouse);
  :mod:`mmbench.pytest_plugin` offers it as the ``mmbench_registered`` fixture.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .checks import CHECKS, checks_for, fresh, label, shared_work
from .checks.data import COLORS, FILLER, WORDS, tiny_data
from .plugins import Catalog, get_catalog
from .protocols import MultimodalData

__all__ = ["COLORS", "FILLER", "WORDS", "check_classifier", "check_dataset", "check_featurizer",
           "check_fusion", "parametrize_with_checks", "registered", "tiny_data"]


def _run(kind: str, plugin: Any, **options: Any) -> dict[str, Any]:
    """Run every ``kind`` check on ``plugin``; their return values by check name."""
    out = {}
    with shared_work():  # the checks share one fit (or load) of the plugin
        for check in CHECKS[kind]:
            accepted = inspect.signature(check).parameters
            out[check.__name__] = check(plugin, **{k: v for k, v in options.items()
                                                   if k in accepted})
    return out


def check_dataset(dataset: Any, **params: Any) -> MultimodalData:
    """Check a dataset (a class, built with ``params``, or an instance): contract, ``load()``
    returning the declared modalities, labels, sample types, a stable fingerprint. Returns the
    loaded data."""
    plugin = fresh(dataset, params) if params else dataset
    return _run("dataset", plugin)["check_dataset_load"]


def check_featurizer(featurizer: Any, data: MultimodalData | None = None) -> np.ndarray:
    """Check a featurizer (an instance, or a class built with its defaults): contract, ``fit``
    returning self, finite ``float32[N, D]`` output, rows that do not depend on their batch,
    deterministic output, and the rules of every fitted kind. ``data`` defaults to
    :func:`tiny_data`. Returns the features of all samples."""
    return _run("featurizer", featurizer, data=data)["check_featurizer_output"]


def check_classifier(cls: Any, **params: Any) -> None:
    """Check a classifier (a class, built with ``params``, or an instance): scikit-learn
    contract (``get_params``, ``clone``), ``fit`` returning self, ``classes_``, probability
    rows that sum to one, labels that do not start at 0, that it learns a separable
    problem, the rules of every fitted kind (same ``random_state`` same predictions, ``fit``
    twice, parameters unchanged, pickling, wrong types refused) and scikit-learn's own
    ``check_estimator`` (but for :data:`mmbench.checks.SKLEARN_SKIPPED`, each with its
    reason)."""
    _run("classifier", fresh(cls, params) if params else cls)


def check_fusion(cls: Any, make_classifier: Any = None, data: MultimodalData | None = None,
                 **params: Any) -> np.ndarray:
    """Check a fusion strategy (a class, built with ``params``, or an instance) on tiny views:
    contract, ``fit`` returning self, probability shape and sums, better than chance, missing
    modalities at test time (some, or all: the training prior), complete rows unchanged by
    other rows' missing modalities, a class absent from training, views left unmodified, and
    the rules of every fitted kind. ``data`` scales the views: ``tiny_data(n=600,
    dims={"image": 64, "text": 32})``. Returns the test probabilities."""
    plugin = fresh(cls, params) if params else cls
    out = _run("fusion", plugin, make_classifier=make_classifier, data=data)
    return out["check_fusion_predict_proba"]


def parametrize_with_checks(plugins: Sequence[Any], *, kind: str | None = None) -> Any:
    """A ``pytest.mark.parametrize`` over ``(plugin, check)``: every conformance check of every
    plugin (classes are built with their defaults; pass an instance to choose parameters), one
    test each, with ids such as ``MyFusion-check_fusion_missing_modality``::

        @parametrize_with_checks([MyFusion, MyFeaturizer(size=8)])
        def test_mmbench_contract(plugin, check):
            check(plugin)

    ``kind`` is inferred from each plugin's attributes unless given.
    """
    import pytest

    params = [
        pytest.param(plugin, check, id=f"{label(plugin)}-{check.__name__}")
        for plugin in plugins
        for check in checks_for(plugin, kind)
    ]
    return pytest.mark.parametrize(("plugin", "check"), params)


@contextmanager
def registered(plugin: object, name: str = "test-plugin",
               catalog: Catalog | None = None) -> Iterator[Catalog]:
    """Register ``plugin`` (a module or object with hookimpls) for the duration of a block.

    A plugin already in the catalog (an installed package's module, found through its entry
    point) is left as it is, so a test works the same before and after ``pip install``."""
    catalog = catalog or get_catalog()
    if catalog.pm.is_registered(plugin):
        yield catalog
        return
    if not catalog.register_plugin(plugin, name, "test"):
        broken = catalog.broken.pop()
        raise AssertionError(f"plugin {name!r} failed to register: {broken.error}")
    try:
        yield catalog
    finally:
        catalog.unregister_plugin(name)
