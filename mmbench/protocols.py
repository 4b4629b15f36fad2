"""The contracts every plugin meets.

Four kinds of plugin, each a class registered by name:

- **Dataset**: ``load() -> MultimodalData``: labelled samples with named modalities.
- **Featurizer**: turns one modality of some samples into ``float32[N, D]``.
- **Fusion strategy**: combines per-modality feature matrices ("views") and a classifier.
- **Classifier**: scikit-learn's estimator contract.

Plugins never need to import anything but :mod:`mmbench` (for ``hookimpl``) and, optionally,
the base classes here. The runner constructs every plugin with keyword arguments taken from the
suite, after checking them against the class's ``__init__`` signature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from .errors import DataError, PluginOutputError

#: Modality names used by the built-in plugins. Others are allowed (any string).
IMAGE = "image"
TEXT = "text"

#: Modality kinds: what a modality's samples are, whatever it is named. A featurizer or a
#: robustness corruption applies to a modality by its kind (``title`` is a text modality).
NUMERIC = "numeric"
KINDS = (IMAGE, TEXT, NUMERIC)

#: Fusion levels, in leaderboard order.
LEVELS = ("unimodal", "feature", "decision", "structure")

#: One modality's raw samples: ``uint8[N, H, W, 3]`` for images, ``list[str]`` for text,
#: a ``pandas.DataFrame`` (one column per tabular column) for numeric data; any of these may be
#: given as :class:`SharedSamples` (distinct samples + a row index) when rows share samples.
ModalityData = Any
#: Feature matrices by modality name, rows aligned with the labels.
Views = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class MultimodalData:
    """A dataset in memory: samples with named modalities, integer labels, class names.

    :param modalities: modality name -> samples (``uint8[N,H,W,3]`` array, ``list[str]``, or a
        ``pandas.DataFrame`` of tabular columns).
    :param y: ``int64[N]`` labels in ``range(len(class_names))``.
    :param class_names: human-readable class names, index = label.
    :param fingerprint: a content hash; feature-cache keys are built on it, so it must change
        whenever the samples change (a different caption column, a different subset...).
    :param meta: free-form facts worth recording (source, paths, licence).
    :param kinds: modality name -> one of :data:`KINDS`; a modality not named here gets the
        kind of its samples (:func:`kind_of`).
    :param groups: optional ``int64[N]`` group ids: rows sharing a group (the questions about
        one picture, the captions of one photo) never straddle train and test.
    :param predefined_test: optional ``bool[N]``, True for the rows of the dataset's own test
        split (used by ``split = { method = "predefined" }``).
    """

    modalities: dict[str, ModalityData]
    y: np.ndarray
    class_names: tuple[str, ...]
    fingerprint: str
    meta: dict[str, Any] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    groups: np.ndarray | None = None
    predefined_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.y)
        for name, samples in self.modalities.items():
            if len(samples) != n:
                raise DataError(
                    f"modality {name!r} has {len(samples)} samples but there are {n} labels: "
                    f"every modality needs one sample per row")
        for what in ("groups", "predefined_test"):
            value = getattr(self, what)
            if value is not None and len(value) != n:
                raise DataError(f"{what} has {len(value)} entries but there are {n} labels")
        for name, kind in self.kinds.items():
            if kind not in KINDS:
                raise DataError(f"modality {name!r} has kind {kind!r}; use one of {KINDS}")

    def __len__(self) -> int:
        return len(self.y)

    def kind(self, modality: str) -> str:
        """The kind (:data:`KINDS`) of ``modality``."""
        return self.kinds.get(modality) or kind_of(self.modalities[modality])

    def subset(self, index: np.ndarray) -> MultimodalData:
        """The samples at ``index`` (same fingerprint: use it only for in-memory work)."""
        index = np.asarray(index)
        mods: dict[str, ModalityData] = {}
        for name, samples in self.modalities.items():
            if isinstance(samples, (np.ndarray, SharedSamples)):
                mods[name] = samples[index]
            elif hasattr(samples, "iloc"):
                mods[name] = samples.iloc[index].reset_index(drop=True)
            else:
                mods[name] = [samples[i] for i in index]
        pick = (lambda a: None if a is None else np.asarray(a)[index])
        return MultimodalData(mods, self.y[index], self.class_names, self.fingerprint, self.meta,
                              dict(self.kinds), pick(self.groups), pick(self.predefined_test))


def modality_param(value: Any, default: str) -> str:
    """A featurizer's ``modality`` parameter checked: a non-empty name (None: ``default``).
    Generic featurizers take one so a suite can point them at any modality of their kind
    (``tfidf`` with ``modality = "title"``); they store it as the instance's ``modality``."""
    if value is None:
        return default
    if not isinstance(value, str) or not value:
        raise ValueError(f"modality must be a modality name such as {default!r}, got {value!r}")
    return value


class SharedSamples(Sequence):
    """A modality whose rows share samples (the questions about one picture, the captions of
    one photo): row ``i`` is ``distinct[index[i]]``.

    It behaves as the length-N sequence of rows (``len``, ``[i]``, ``np.asarray`` gives the
    expanded ``[N, ...]`` array), while the featurization path (:mod:`mmbench.featurize`, the
    robustness sweeps, the duplicates audit) works on ``distinct`` once and expands the result
    by ``index``. Indexing with a slice or an index array gives another :class:`SharedSamples`
    over the same ``distinct`` samples (no copy of them).

    :param distinct: the distinct samples (``uint8[M,H,W,3]`` for images, or a list).
    :param index: ``int[N]`` positions into ``distinct``, one per row.
    """

    def __init__(self, distinct: Any, index: np.ndarray) -> None:
        index = np.asarray(index)
        if index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
            raise ValueError(f"index must be a 1-d integer array, got {index.dtype}"
                             f"{list(index.shape)}")
        if index.size and (index.min() < 0 or index.max() >= len(distinct)):
            raise ValueError(f"index has entries outside 0..{len(distinct) - 1}")
        self.distinct = distinct
        self.index = index.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, np.integer)):
            return self.distinct[int(self.index[item])]
        return SharedSamples(self.distinct, self.index[item])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.distinct)[self.index]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"SharedSamples({len(self)} rows over {len(self.distinct)} distinct samples)"

    def compact(self) -> tuple[Any, np.ndarray]:
        """(the distinct samples these rows use, in order, and each row's position among
        them): what to featurize once, and how to expand the result to the rows."""
        used, inverse = np.unique(self.index, return_inverse=True)
        distinct = self.distinct
        picked = (distinct[used] if isinstance(distinct, np.ndarray)
                  else [distinct[int(i)] for i in used])
        return picked, inverse.reshape(-1)


def distinct_rows(samples: ModalityData) -> tuple[ModalityData, np.ndarray | None]:
    """(what a featurizer should see, row -> position in it): for :class:`SharedSamples` the
    distinct samples the rows use and the expansion index; otherwise ``samples`` and None."""
    if isinstance(samples, SharedSamples):
        return samples.compact()
    return samples, None


def kind_of(samples: ModalityData) -> str:
    """The kind of a modality's samples: ``image`` for a 4-d array, ``numeric`` for a table
    (``DataFrame``) or a 2-d array, ``text`` otherwise (a sequence of strings); for
    :class:`SharedSamples`, the kind of its distinct samples."""
    if isinstance(samples, SharedSamples):
        return kind_of(samples.distinct)
    if hasattr(samples, "iloc"):
        return NUMERIC
    if isinstance(samples, np.ndarray):
        return IMAGE if samples.ndim == 4 else NUMERIC if samples.ndim == 2 else TEXT
    return TEXT


@runtime_checkable
class Dataset(Protocol):
    """A dataset plugin. ``modalities`` names what ``load()`` returns, so suites are validated
    before anything is loaded."""

    modalities: ClassVar[tuple[str, ...]]

    def load(self) -> MultimodalData: ...


@runtime_checkable
class Featurizer(Protocol):
    """Turns one modality into ``float32[N, D]``.

    ``fits_on_train`` says whether ``fit`` learns from data (TF-IDF does, a pretrained CNN does
    not). When it is False the runner featurizes all samples once and reuses the matrix for
    every split; when True it calls ``fit`` on each training split and caches per split.
    ``version`` is part of the cache key: bump it whenever the features change.

    ``modality`` may be an instance attribute set from a ``modality`` parameter (see
    :func:`modality_param`): the generic featurizers read any modality of their kind, named by
    the suite. The optional class attribute ``kind`` (one of :data:`KINDS`) says which kind of
    modality the featurizer takes; the suite is refused when the modality is of another kind.

    Optional: ``output_dim`` (D, when known before running) and ``memory_estimate(samples)
    -> {part: bytes}`` (peak memory beyond the output matrix, e.g. one batch's activations);
    the runner refuses a featurization whose estimate exceeds the memory available
    (:mod:`mmbench.resources`).
    """

    modality: ClassVar[str]
    version: ClassVar[str]
    fits_on_train: ClassVar[bool]

    def fit(self, samples: ModalityData) -> Featurizer: ...

    def transform(self, samples: ModalityData) -> np.ndarray: ...


@runtime_checkable
class Classifier(Protocol):
    """scikit-learn's estimator contract: keyword-only ``__init__`` storing its params,
    ``get_params``/``set_params``, ``fit`` returning self, ``predict_proba`` and ``classes_``."""

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def fit(self, X: np.ndarray, y: np.ndarray) -> Classifier: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


#: A zero-argument factory that returns a fresh, unfitted classifier for this cell.
MakeClassifier = Callable[[], Classifier]


@runtime_checkable
class Fusion(Protocol):
    """A fusion strategy.

    ``level`` is one of :data:`LEVELS`. ``fit`` receives the training views (modality ->
    features), labels and a factory for the cell's classifier; ``predict_proba`` returns
    ``float[N, n_classes]`` with columns in ``range(n_classes)`` order.
    ``min_modalities`` is how many views the strategy needs (1 for unimodal, 2 for fusions).

    **Missing modalities.** At test time a sample may lack a modality (robustness sweeps drop
    captions, say): its row in that view is all NaN (see :func:`missing_rows`). Training views
    are always complete. Every strategy must handle missing rows in a defined way, documented in
    its docstring, and never crash: e.g. a unimodal classifier whose modality is missing predicts
    the training class prior; late fusion combines only the modalities present.
    """

    level: ClassVar[str]
    min_modalities: ClassVar[int]

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> Fusion: ...

    def predict_proba(self, views: Views) -> np.ndarray: ...


def missing_rows(x: np.ndarray) -> np.ndarray:
    """Boolean mask of rows that are missing (all NaN) in a view."""
    x = np.asarray(x)
    return np.isnan(x).all(axis=1) if x.size else np.zeros(len(x), dtype=bool)


class FeaturizerBase:
    """Optional base class: a stateless featurizer whose ``fit`` does nothing."""

    modality: ClassVar[str] = ""
    version: ClassVar[str] = "1"
    fits_on_train: ClassVar[bool] = False

    def fit(self, samples: ModalityData) -> FeaturizerBase:
        return self

    def transform(self, samples: ModalityData) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class FusionBase:
    """Optional base class with the helpers most strategies need."""

    level: ClassVar[str] = ""
    min_modalities: ClassVar[int] = 2

    n_classes_: int
    prior_: np.ndarray

    def _set_classes(self, y: np.ndarray) -> None:
        """Remember the number of classes and the training class prior (the prediction for a
        sample whose every used modality is missing)."""
        self.n_classes_ = int(np.max(y)) + 1
        self.prior_ = np.bincount(y, minlength=self.n_classes_) / len(y)

    def _proba_or_prior(self, clf: Classifier, x: np.ndarray) -> np.ndarray:
        """``clf``'s probabilities for present rows; the training prior for missing rows."""
        missing = missing_rows(x)
        out = np.tile(self.prior_, (len(x), 1))
        if (~missing).any():
            out[~missing] = self._full_proba(clf, x[~missing])
        return out

    def _prior_where_all_missing(self, views: Views, proba: np.ndarray) -> np.ndarray:
        """``proba`` with the training prior in the rows missing every view (a sample with
        nothing to go on gets the prior, whatever imputation would have given)."""
        gone = np.logical_and.reduce([missing_rows(np.asarray(v)) for v in views.values()])
        if not gone.any():
            return proba
        out = np.array(proba, dtype=np.float64)
        out[gone] = self.prior_
        return out

    def _full_proba(self, clf: Classifier, X: np.ndarray) -> np.ndarray:
        """``clf.predict_proba(X)`` widened to all ``n_classes_`` columns (a class absent from
        a training split gets probability 0)."""
        return expand_proba(clf.predict_proba(X), clf.classes_, self.n_classes_, len(X),
                            f"classifier {type(clf).__name__}")

    def fit(self, views: Views, y: np.ndarray, make_classifier: MakeClassifier) -> FusionBase:
        raise NotImplementedError  # pragma: no cover - abstract

    def predict_proba(self, views: Views) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract


class RepresentationFusion(FusionBase):
    """Optional base class for a fusion that learns a representation of the views and trains
    one classifier, ``clf_``, on ``represent(views)``, last in ``fit``; nothing it learns
    before depends on the classifier. A tuned cell then learns the representation once per
    inner fold and per fusion candidate, and only refits the classifier for each classifier
    candidate (:meth:`refit_classifier`): the same numbers, in less time."""

    clf_: Any = None

    def represent(self, views: Views) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def refit_classifier(self, views: Views, y: np.ndarray,
                         make_classifier: MakeClassifier) -> RepresentationFusion:
        """A copy of this fitted fusion whose classifier is a fresh ``make_classifier()``
        trained on the representation of ``views`` and ``y``, the ones it was fitted on:
        ``fit(views, y, make_classifier)`` without learning the representation again (this
        fusion keeps its own classifier)."""
        import copy

        out = copy.copy(self)
        out.clf_ = make_classifier().fit(self.represent(views), y)
        return out

    def predict_proba(self, views: Views) -> np.ndarray:
        return self._prior_where_all_missing(
            views, self._full_proba(self.clf_, self.represent(views)))


def expand_proba(proba: np.ndarray, classes: Sequence[int], n_classes: int,
                 n_rows: int | None = None, who: str = "classifier") -> np.ndarray:
    """Place ``proba``'s columns (one per entry of ``classes``) into ``n_classes`` columns;
    a :class:`~mmbench.errors.PluginOutputError` when ``proba`` has another shape (or not
    ``n_rows`` rows) or is not probabilities (NaN, negative, rows not summing to 1)."""
    classes = np.asarray(classes, dtype=int)
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != len(classes) or (
            n_rows is not None and proba.shape[0] != n_rows):
        rows = "n_samples" if n_rows is None else n_rows
        raise PluginOutputError(
            f"{who}.predict_proba returned shape {proba.shape}; expected ({rows}, "
            f"{len(classes)}): one row per sample, one column per entry of classes_ "
            f"{classes.tolist()}")
    from .probabilities import proba_problem  # (not at import: protocols stays the first)

    problem = proba_problem(proba) if proba.size else None
    if problem is not None:  # scores would be averaged by a decision-level fusion
        raise PluginOutputError(f"{who}.{problem}")
    if len(classes) == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    out = np.zeros((proba.shape[0], n_classes), dtype=np.float64)
    out[:, classes] = proba
    return out
