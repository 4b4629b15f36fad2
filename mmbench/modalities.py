"""Which modality a featurizer reads, and whether it is of the kind the featurizer takes.

A featurizer names the modality it reads in ``modality``: a class attribute (``"text"``), or,
for the generic featurizers, an instance attribute set from a ``modality`` parameter
(``tfidf`` with ``modality = "title"``). It may say which kind of modality it takes in an
optional class attribute ``kind`` (one of :data:`~mmbench.protocols.KINDS`); without one, a
class ``modality`` that is a kind name (``image``, ``text``, ``numeric``) is its kind.

A dataset's modality kinds are known before loading when the dataset says so (an optional
``kinds`` mapping on the dataset object, as ``MultimodalData.kinds``) or when a modality is
named after its kind; otherwise they are checked when the data is loaded, before anything is
featurized (:func:`check_loaded`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import UserError
from .protocols import KINDS, MultimodalData


def featurizer_modality(entry: Any, params: Mapping[str, Any]) -> str:
    """The modality a featurizer variant reads: its ``modality`` parameter when it takes one
    (the given value, else the parameter's default), else the class's ``modality``."""
    accepted = entry.params
    if "modality" in accepted:
        if "modality" in params:
            return str(params["modality"])
        default = accepted["modality"].default
        if isinstance(default, str) and default:
            return default
    return str(entry.cls.modality)


def featurizer_kind(cls: type) -> str | None:
    """The kind of modality a featurizer class takes (None: any)."""
    kind = getattr(cls, "kind", None)
    if isinstance(kind, str) and kind in KINDS:
        return kind
    modality = getattr(cls, "modality", None)
    return modality if modality in KINDS else None


def dataset_kind(dataset: Any, modality: str) -> str | None:
    """The kind of ``modality`` a dataset object declares before loading (its ``kinds``
    mapping, else the modality's name when it is a kind); None when unknown until loaded."""
    kinds = getattr(dataset, "kinds", None)
    if isinstance(kinds, Mapping) and kinds.get(modality) in KINDS:
        return str(kinds[modality])
    return modality if modality in KINDS else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'title'?"`` for a close match, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _q(name: str) -> str:
    """A plugin name quoted (``'tfidf'``), a label with parameters as it is."""
    return name if "(" in name else repr(name)


def _of_kind(kinds: Mapping[str, str | None], kind: str) -> str:
    mine = [m for m, k in kinds.items() if k == kind]
    return ", ".join(mine) if mine else "none"


def modality_problem(featurizer: str, cls: type, modality: str, dataset: str,
                     kinds: Mapping[str, str | None]) -> str | None:
    """Why featurizer ``featurizer`` (class ``cls``) cannot read ``modality`` of a dataset
    whose modalities have ``kinds`` (None: not known yet); None when it can (or may)."""
    want = featurizer_kind(cls)
    if modality not in kinds:
        hint = did_you_mean(modality, kinds)
        fits = f" ({want} modalities: {_of_kind(kinds, want)})" if want else ""
        return (f"featurizer {_q(featurizer)} reads modality {modality!r}, which dataset "
                f"{_q(dataset)} does not have (it has {', '.join(kinds)}){hint}{fits}; choose one "
                f"with the featurizer's modality parameter")
    have = kinds[modality]
    if want and have and have != want:
        return (f"featurizer {_q(featurizer)} reads {want} modalities but {modality!r} of "
                f"dataset {_q(dataset)} is a{'n' if have[0] in 'aeiou' else ''} {have} modality ({want} modalities: "
                f"{_of_kind(kinds, want)}); set the featurizer's modality to one of them")
    return None


def check_loaded(data: MultimodalData, cells: Sequence[Any], catalog: Any,
                 dataset: str) -> None:
    """Every featurizer of ``cells`` reads a modality ``data`` has, of its kind; else a
    :class:`~mmbench.errors.UserError` (one line, with did-you-mean)."""
    kinds: dict[str, str | None] = {m: data.kind(m) for m in data.modalities}
    seen: set[Any] = set()
    for cell in cells:
        for modality, variant in cell.featurizers:
            if (modality, variant) in seen:
                continue
            seen.add((modality, variant))
            cls = catalog["featurizer"].get(variant.name).cls
            problem = modality_problem(variant.label, cls, modality, dataset, kinds)
            if problem:
                raise UserError(problem)
