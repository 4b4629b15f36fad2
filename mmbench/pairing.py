"""Which combinations of a suite's entries become cells.

By default the plan is the full cross-product. Two things narrow it:

- a classifier class may define a classmethod ``accepts(params, featurizers, fusion) -> bool``
  (CLIP zero-shot needs CLIP image embeddings of its own model);
- a suite's fusion or classifier entry may say ``only = { featurizers = [...], fusions = [...],
  classifiers = [...] }`` (registered names; ``"unimodal"`` names the baselines), so costly
  combinations run where they matter and not everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import MmbenchError
from .plugins import Catalog

if TYPE_CHECKING:
    from .plan import Cell, Variant
    from .suite import LoadedSuite, Only

ONLY_KINDS = {"featurizers": "featurizer", "fusions": "fusion", "classifiers": "classifier"}


def accepts(catalog: Catalog, clf: Variant, fusion: Variant,
            featurizers: Mapping[str, Variant]) -> bool:
    """Whether classifier ``clf`` may be paired with ``fusion`` over ``featurizers`` (modality
    -> variant), by the classifier class's own ``accepts`` rule; without one it pairs with
    everything."""
    rule = getattr(catalog["classifier"].get(clf.name).cls, "accepts", None)
    return rule is None or bool(rule(clf.kwargs, featurizers, fusion))


def unpaired(catalog: Catalog, loaded: LoadedSuite, classifiers: list[Variant],
             cells: list[Cell]) -> list[str]:
    """A problem for each classifier whose ``accepts`` rule left it with no cell."""
    used = {c.classifier for c in cells}
    problems = []
    for clf in classifiers:
        entry = catalog["classifier"].get(clf.name)
        if clf in used or not hasattr(entry.cls, "accepts"):
            continue
        index = next(i for i, s in enumerate(loaded.suite.classifiers)
                     if s.name in (entry.name, *entry.aliases))
        rule = (getattr(entry.cls, "accepts").__doc__ or "").strip().splitlines()[:1]
        problems.append(f"{loaded.locate(('classifiers', index))}: classifier {clf.label} pairs "
                        f"with no fusion and featurizer of this suite ({' '.join(rule)})")
    return problems


class Restrictions:
    """The ``only`` tables of a suite's fusion and classifier entries, names resolved."""

    def __init__(self, loaded: LoadedSuite, catalog: Catalog, problems: list[str],
                 entries: Mapping[Variant, tuple[int, ...]] | None = None) -> None:
        self.by_kind: dict[str, dict[str, dict[str, set[str]]]] = {"fusion": {},
                                                                      "classifier": {}}
        #: variant -> indices of the suite entries it came from: two entries of one plugin (say
        #: a calibrated and a plain late-mean) keep their own ``only`` tables, and two entries
        #: of the same variant with different ``only`` tables plan the union of their cells
        self.entries = dict(entries or {})
        self.by_entry: dict[str, dict[int, dict[str, set[str]]]] = {"fusion": {},
                                                                       "classifier": {}}
        suite = loaded.suite
        present = {
            "featurizer": self._names(catalog, "featurizer", suite.featurizers),
            "fusion": self._names(catalog, "fusion", suite.fusions) | {"unimodal"},
            "classifier": self._names(catalog, "classifier", suite.classifiers),
        }
        for key, kind in (("fusions", "fusion"), ("classifiers", "classifier")):
            for i, spec in enumerate(getattr(suite, key)):
                if spec.only is None:
                    continue
                rules = self._resolve(spec.only, (key, i, "only"), present, catalog, loaded,
                                      problems)
                name = self._canonical(catalog, kind, spec.name)
                if name is not None:
                    self.by_kind[kind][name] = rules
                    self.by_entry[kind][i] = rules

    @staticmethod
    def _canonical(catalog: Catalog, kind: str, name: str) -> str | None:
        try:
            return catalog[kind].get(name).name
        except MmbenchError:
            return None  # reported where the entry itself is checked

    def _names(self, catalog: Catalog, kind: str, specs: list[Any]) -> set[str]:
        return {n for s in specs if (n := self._canonical(catalog, kind, s.name)) is not None}

    def _resolve(self, only: Only, loc: tuple[Any, ...], present: dict[str, set[str]],
                 catalog: Catalog, loaded: LoadedSuite,
                 problems: list[str]) -> dict[str, set[str]]:
        rules: dict[str, set[str]] = {}
        for field, kind in ONLY_KINDS.items():
            names = getattr(only, field)
            if names is None:
                continue
            resolved = set()
            for name in names:
                canonical = "unimodal" if name == "unimodal" else None
                try:
                    canonical = canonical or catalog[kind].get(name).name
                except MmbenchError as exc:
                    problems.append(f"{loaded.locate((*loc, field))}: {exc}")
                    continue
                if canonical not in present[kind]:
                    problems.append(
                        f"{loaded.locate((*loc, field))}: {kind} {name!r} is not in this suite "
                        f"(it has {', '.join(sorted(present[kind]))})")
                resolved.add(canonical)
            rules[kind] = resolved
        return rules

    def admits(self, fusion: Variant, featurizers: Mapping[str, Variant],
               classifier: Variant) -> bool:
        """Whether every ``only`` table that applies lets this combination through."""
        parts = {"fusion": {fusion.name}, "classifier": {classifier.name},
                 "featurizer": {f.name for f in featurizers.values()}}
        for kind, variant in (("fusion", fusion), ("classifier", classifier)):
            entries = self.entries.get(variant)
            tables = ([self.by_entry[kind].get(e, {}) for e in entries] if entries
                      else [self.by_kind[kind].get(variant.name, {})])
            if not any(all(parts[other] <= allowed for other, allowed in rules.items())
                       for rules in tables):
                return False
        return True
