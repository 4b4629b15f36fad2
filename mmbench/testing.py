"""The plugin author's test kit.

- :func:`tiny_data`: a two-modality dataset (images + captions) that runs in a second on CPU.
- :func:`check_dataset`, :func:`check_featurizer`, :func:`check_fusion`,
  :func:`check_classifier`: run every conformance check of a kind (each raises
  ``AssertionError`` saying what is wrong; the checks themselves are in :mod:`mmbench.checks`).
- :func:`parametrize_with_checks`: the same checks as one pytest test each.
- :func:`registered`: a context manager that registers a plugin object in the process-wide
  catalog for one test and removes it afterwards (opt-in, nothing autouse);
  :mod:`mmbench.pytest_plugin` offers it as the ``mmbench_registered`` fixture.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .plugins import Catalog, get_catalog
from .protocols import MultimodalData

WORDS = {
    0: ["red", "apple", "cherry", "fire"],
    1: ["green", "leaf", "grass", "frog"],
    2: ["blue", "sky", "sea", "whale"],
    3: ["yellow", "sun", "banana", "lemon"],
    4: ["white", "snow", "cloud", "milk"],
}
FILLER = ["a", "photo", "of", "the", "small", "big", "near", "with", "some", "thing"]
COLORS = np.array([[200, 40, 40], [40, 180, 60], [40, 60, 200], [220, 210, 40], [235, 235, 235]])


def tiny_data(n: int = 120, n_classes: int = 3, *, size: int = 8, image_signal: float = 0.7,
              text_signal: float = 0.6, seed: int = 0) -> MultimodalData:
    """Images whose colour and captions whose words show the class with probability
    ``image_signal`` / ``text_signal`` (else a random class, independently), so each modality
    alone is imperfect and together they do better."""
    if not 2 <= n_classes <= len(WORDS):
        raise ValueError(f"n_classes must be in 2..{len(WORDS)}, got {n_classes}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    shown = np.where(rng.random(n) < image_signal, y, rng.integers(0, n_classes, n))
    base = COLORS[shown][:, None, None, :].astype(float)
    images = np.clip(base + rng.normal(0, 40.0, (n, size, size, 3)), 0, 255)
    texts = []
    for label in y:
        k = label if rng.random() < text_signal else rng.integers(n_classes)
        words = list(rng.choice(FILLER, 4)) + [str(rng.choice(WORDS[int(k)]))]
        rng.shuffle(words)
        texts.append(" ".join(words))
    images = images.astype(np.uint8)
    digest = hashlib.sha256(images.tobytes() + "\n".join(texts).encode() + y.tobytes())
    return MultimodalData(
        {"image": images, "text": texts}, y.astype(np.int64),
        tuple(f"class{i}" for i in range(n_classes)), digest.hexdigest(),
        {"source": "mmbench.testing.tiny_data"},
    )


def _run(kind: str, plugin: Any, **options: Any) -> dict[str, Any]:
    """Run every ``kind`` check on ``plugin``; their return values by check name."""
    from .checks import CHECKS, shared_work

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
    from .checks import fresh

    plugin = fresh(dataset, params) if params else dataset
    return _run("dataset", plugin)["check_dataset_load"]


def check_featurizer(featurizer: Any, data: MultimodalData | None = None) -> np.ndarray:
    """Check a featurizer (an instance, or a class built with its defaults): contract, ``fit``
    returning self, finite ``float32[N, D]`` output, rows that do not depend on their batch,
    deterministic output. ``data`` defaults to :func:`tiny_data`. Returns the features of all
    samples."""
    return _run("featurizer", featurizer, data=data)["check_featurizer_output"]


def check_classifier(cls: Any, **params: Any) -> None:
    """Check a classifier (a class, built with ``params``, or an instance): scikit-learn
    contract (``get_params``, ``clone``), ``fit`` returning self, ``classes_``, probability
    rows that sum to one, labels that do not start at 0, and that it learns a separable
    problem."""
    from .checks import fresh

    _run("classifier", fresh(cls, params) if params else cls)


def check_fusion(cls: Any, make_classifier: Any = None, data: MultimodalData | None = None,
                 **params: Any) -> np.ndarray:
    """Check a fusion strategy (a class, built with ``params``, or an instance) on tiny views:
    contract, ``fit`` returning self, probability shape and sums, better than chance, missing
    modalities at test time, a class absent from training, views left unmodified. Returns the
    test probabilities."""
    from .checks import fresh

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

    from .checks import checks_for

    params = [
        pytest.param(plugin, check, id=f"{_label(plugin)}-{check.__name__}")
        for plugin in plugins
        for check in checks_for(plugin, kind)
    ]
    return pytest.mark.parametrize(("plugin", "check"), params)


def _label(plugin: Any) -> str:
    if inspect.isclass(plugin):
        return plugin.__name__
    if type(plugin).__repr__ is not object.__repr__:
        return repr(plugin)
    return type(plugin).__name__


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
