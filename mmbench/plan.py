"""Plan a suite: check every plugin reference against the registries, expand sweeps, and list
the cells (dataset x one featurizer per modality x fusion x classifier x seed [x fold]).

Every problem is collected, with its TOML location, before anything runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import MmbenchError, SuiteError, UserError
from .modalities import dataset_kind, modality_problem
from .pairing import Restrictions, accepts, unpaired
from .paramcheck import blame, type_problems
from .plugins import Catalog
from .registry import CONTEXT_PARAMS, build
from .suite import LoadedSuite, PluginSpec, expand_params
from .tuning_spec import CALIBRATE, calibrate_problem, entry_grid, uses_inner


def canonical(obj: Any) -> str:
    """Stable JSON for hashing (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(obj: Any, n: int = 16) -> str:
    return hashlib.sha256(canonical(obj).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class Variant:
    """A plugin with concrete parameters (one point of a sweep)."""

    kind: str
    name: str
    params: tuple[tuple[str, Any], ...] = ()
    #: candidates chosen per cell on the inner split (see :mod:`.tuning_spec`), frozen
    tune: tuple[tuple[str, Any], ...] = ()
    #: the grid came from a sweep with ``select = "validation"`` (its test oracle is recorded)
    select: bool = False

    @classmethod
    def of(cls, kind: str, name: str, params: Mapping[str, Any],
           tune: Mapping[str, Any] | None = None, select: bool = False) -> Variant:
        return cls(kind, name, tuple(sorted((k, _freeze(v)) for k, v in params.items())),
                   tuple(sorted((k, _freeze(v)) for k, v in (tune or {}).items())), select)

    @property
    def kwargs(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.params}

    @property
    def grid(self) -> dict[str, list[Any]]:
        """The tuned parameters and their candidates (empty when nothing is tuned)."""
        return {k: _thaw(v) for k, v in self.tune}

    def with_params(self, chosen: Mapping[str, Any]) -> Variant:
        """This variant with ``chosen`` fixed (no longer tuned)."""
        return Variant.of(self.kind, self.name, {**self.kwargs, **chosen})

    @property
    def label(self) -> str:
        """``logreg(C=0.1)``, ``logreg(tuned: C)``, or just ``logreg`` without params."""
        parts = [f"{k}={_thaw(v)!r}" if isinstance(v, str) else f"{k}={_thaw(v)}"
                 for k, v in self.params]
        if self.tune:
            word = "selected" if self.select else "tuned"
            parts.append(f"{word}: {', '.join(k for k, _ in self.tune)}")
        return f"{self.name}({', '.join(parts)})" if parts else self.name

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "params": self.kwargs}
        if self.tune:
            out["tune"] = self.grid
        if self.select:
            out["select"] = "validation"
        return out


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


@dataclass(frozen=True)
class Cell:
    """One unit of work: its id is a hash of everything that defines its result."""

    dataset: Variant
    split: tuple[tuple[str, Any], ...]
    seed: int
    fold: int
    featurizers: tuple[tuple[str, Variant], ...]  # (modality, featurizer), sorted by modality
    fusion: Variant
    level: str
    classifier: Variant
    #: Suite-wide options that change a cell's result (imbalance, robustness), frozen.
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m, _ in self.featurizers)

    @property
    def cell_id(self) -> str:
        return short_hash(self.identity(), 20)

    def identity(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.as_dict(),
            "split": dict(self.split),
            "seed": self.seed,
            "fold": self.fold,
            "featurizers": {m: f.as_dict() for m, f in self.featurizers},
            "fusion": self.fusion.as_dict(),
            "classifier": self.classifier.as_dict(),
            **({"options": {k: _thaw(v) for k, v in self.options}} if self.options else {}),
        }


@dataclass
class Plan:
    loaded: LoadedSuite
    cells: list[Cell] = field(default_factory=list)

    @property
    def suite(self) -> Any:
        return self.loaded.suite


def _variants(
    kind: str, spec: PluginSpec, loc: tuple[Any, ...], catalog: Catalog, problems: list[str],
    loaded: LoadedSuite,
) -> list[tuple[Variant, Any]]:
    """Expand ``spec`` into (variant, instance) pairs, or add problems and return []."""
    where = loaded.locate(loc)
    try:
        entry = catalog[kind].get(spec.name)
    except MmbenchError as exc:
        broken = "; ".join(b.message for b in catalog.broken)
        hint = f" (plugins that failed to load: {broken})" if broken else ""
        problems.append(f"{where}: {exc}{hint}")
        return []
    accepted = entry.params
    if kind in ("fusion", "classifier") and CALIBRATE in spec.params and (
            CALIBRATE not in accepted):
        problems.append(f"{loaded.locate((*loc, 'params', CALIBRATE))}: "
                        f"{calibrate_problem(kind, entry, catalog)}")
        return []
    wrong = [p for p in spec.params if p not in accepted]
    if wrong:
        valid = ", ".join(p for p in accepted if p not in CONTEXT_PARAMS) or "none"
        for p in wrong:
            problems.append(
                f"{loaded.locate((*loc, 'params', p))}: invalid parameter {p!r} for "
                f"{kind} {entry.name!r}; valid: {valid}"
            )
        return []
    empty = [p for p, v in spec.params.items() if v == []]
    if empty:
        for p in empty:
            problems.append(
                f"{loaded.locate((*loc, 'params', p))}: empty sweep {p} = [] for {kind} "
                f"{entry.name!r}: it gives no variant, so no cell; list at least one value "
                f"(an empty list as the value itself is written [[]])"
            )
        return []
    typed = type_problems(entry.cls, spec.params)
    for p, problem in typed:
        problems.append(f"{loaded.locate((*loc, 'params', p))}: {kind} {entry.name!r}: {problem}")
    if typed:
        return []
    sweep, tune, select = dict(spec.params), {}, False
    if kind in ("fusion", "classifier"):
        got = entry_grid(kind, entry, spec, loc, loaded, catalog, problems)
        if got is None:
            return []
        sweep, tune, select = got
        tuned = type_problems(entry.cls, tune)
        for p, problem in tuned:
            problems.append(f"{loaded.locate((*loc, 'tune', p))}: {kind} {entry.name!r}: "
                            f"{problem}")
        if tuned:
            return []
    out = []
    refused: dict[str, int] = {}  # one problem per entry and cause, not one per sweep variant
    variants = expand_params(sweep)
    for params in variants:
        try:
            instance = build(entry, params)
        except UserError as exc:
            problem = _refusal(entry, params, exc, loc, loaded)
            refused[problem] = refused.get(problem, 0) + 1
            continue
        out.append((Variant.of(kind, entry.name, params, tune, select), instance))
    for problem, n in refused.items():
        problems.append(problem + (f" (in {n} of {len(variants)} sweep variants)" if n > 1
                                   else ""))
    return out


def _refusal(entry: Any, params: dict[str, Any], exc: UserError, loc: tuple[Any, ...],
             loaded: LoadedSuite) -> str:
    """A constructor's refusal, located at the parameter it is about when that can be told
    (``classifiers[0].params.C (line 9): classifier 'logreg' rejected C = -1: ...``)."""
    cause = exc.__cause__
    message = str(cause) if cause is not None else str(exc)
    culprit = blame(lambda one: build(entry, one), params, message)
    if culprit is None:
        return f"{loaded.locate(loc)}: {exc}"
    value = canonical(params[culprit])
    return (f"{loaded.locate((*loc, 'params', culprit))}: {entry.kind} {entry.name!r} rejected "
            f"{culprit} = {value}: {message}")


def plan_suite(loaded: LoadedSuite, catalog: Catalog) -> Plan:
    """Validate plugin references and params, then list every cell. Raises SuiteError."""
    from .localplugins import load_suite_plugins

    suite = loaded.suite
    problems: list[str] = load_suite_plugins(loaded, catalog)
    datasets = []
    for i, spec in enumerate(suite.datasets):
        for variant, inst in _variants("dataset", spec, ("datasets", i), catalog, problems, loaded):
            datasets.append((variant, inst, spec, i))
    featurizers = []
    featurizers_ok = True  # False: a featurizer entry is broken (already a problem)
    for i, spec in enumerate(suite.featurizers):
        expanded = _variants("featurizer", spec, ("featurizers", i), catalog, problems, loaded)
        featurizers_ok = featurizers_ok and bool(expanded)
        for variant, inst in expanded:
            featurizers.append((variant, inst, i))
    fusions = []
    for i, fspec in enumerate(suite.fusions):
        for variant, inst in _variants("fusion", fspec, ("fusions", i), catalog, problems, loaded):
            fusions.append((variant, inst, fspec, i))
    classifiers: list[Variant] = []
    entries: dict[Variant, tuple[int, ...]] = {}  # variant -> the entries it came from
    for v, _, _, i in fusions:
        entries[v] = (*entries.get(v, ()), i)
    fusions = [f for n, f in enumerate(fusions) if f[0] not in {g[0] for g in fusions[:n]}]
    for i, spec in enumerate(suite.classifiers):
        for v, _ in _variants("classifier", spec, ("classifiers", i), catalog, problems, loaded):
            if v not in entries:
                classifiers.append(v)
            entries[v] = (*entries.get(v, ()), i)
    only = Restrictions(loaded, catalog, problems, entries)

    cells: list[Cell] = []
    options = cell_options(suite)
    for dvariant, dataset, dspec, di in datasets:
        available = tuple(dataset.modalities)
        by_modality: dict[str, list[Variant]] = {}
        dims: dict[tuple[str, Variant], int | None] = {}
        kinds = {m: dataset_kind(dataset, m) for m in available}
        for fvariant, finst, i in featurizers:
            problem = modality_problem(fvariant.name, type(finst), finst.modality,
                                       dvariant.name, kinds)
            if problem:
                where = ('featurizers', i, 'params', 'modality') if (
                    'modality' in dict(fvariant.params)) else ('featurizers', i)
                problems.append(f"{loaded.locate(where)}: {problem}")
                continue
            by_modality.setdefault(finst.modality, []).append(fvariant)
            dims[(finst.modality, fvariant)] = getattr(finst, "output_dim", None)
        mods = sorted(by_modality)
        split = dspec.split.identity()
        problem = split_problem(dataset, dict(split), suite.seeds)
        if problem:
            from .splits import split_label

            where = ("datasets", di, "split") if "split" in dspec.model_fields_set else (
                "datasets", di)
            problems.append(f"{loaded.locate(where)}: dataset {dvariant.label}, split "
                            f"{split_label(split)}: {problem}")
        folds = range(dspec.split.folds)
        strategies: list[tuple[Variant, str, tuple[str, ...]]] = [
            (Variant.of("fusion", "unimodal", {"modality": m}), "unimodal", (m,)) for m in mods
        ]
        for fvariant, finst, fspec, i in fusions:
            wanted = tuple(sorted(fspec.modalities)) if fspec.modalities else tuple(mods)
            missing = [m for m in wanted if m not in available]
            if missing:
                problems.append(
                    f"{loaded.locate(('fusions', i, 'modalities'))}: fusion {fvariant.name!r} "
                    f"asks for modalities {missing} that dataset {dvariant.name!r} does not "
                    f"have (it has {', '.join(available)})"
                )
                continue
            unfed = [m for m in wanted if m not in by_modality]
            if unfed or len(wanted) < finst.min_modalities:
                if featurizers_ok:  # else it follows from the broken featurizer entry
                    problems.append(
                        f"{loaded.locate(('fusions', i))}: fusion {fvariant.name!r} needs "
                        f"{finst.min_modalities} modalities with a featurizer; the suite gives "
                        f"{[m for m in wanted if m in by_modality]} (add featurizers for "
                        f"{unfed})"
                    )
                continue
            check = getattr(finst, "check_dims", None)
            if check is not None:
                for combo in itertools.product(*(by_modality[m] for m in wanted)):
                    found = {m: dims[(m, f)] for m, f in zip(wanted, combo)}
                    for msg in check(found) or []:
                        problems.append(f"{loaded.locate(('fusions', i, 'params'))}: {msg}")
            strategies.append((fvariant, finst.level, wanted))
        for strategy, level, wanted in strategies:
            for combo in itertools.product(*(by_modality[m] for m in wanted)):
                for clf, seed, fold in itertools.product(classifiers, suite.seeds, folds):
                    feats = dict(zip(wanted, combo))
                    if not (accepts(catalog, clf, strategy, feats)
                            and only.admits(strategy, feats, clf)):
                        continue
                    cells.append(
                        Cell(dvariant, split, seed, fold, tuple(zip(wanted, combo)),
                             strategy, level, clf,
                             inner_options(suite, options) if uses_inner(strategy, clf)
                             else options)
                    )
    problems = problems or unpaired(catalog, loaded, classifiers, cells)
    if not problems and not cells:
        problems.append("the suite plans no cell: its only tables and accepts rules leave no "
                        "(featurizers, fusion, classifier) combination; loosen them")
    if problems:
        raise SuiteError(str(loaded.path), list(dict.fromkeys(problems)))
    unique = list({c.cell_id: c for c in cells}.values())
    return Plan(loaded, unique)


def inner_options(suite: Any, options: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    """``options`` plus what a cell that tunes or calibrates also depends on: the suite's
    inner split and the metric candidates are chosen by (its headline)."""
    from .suite import InnerSpec

    inner = (suite.inner or InnerSpec()).model_dump()
    extra = {"inner": inner, "select_by": suite.headline}
    return tuple(sorted((*options, *((k, _freeze(v)) for k, v in extra.items()))))


def split_problem(dataset: Any, split: dict[str, Any], seeds: list[int]) -> str | None:
    """Why ``split`` cannot work on a dataset that states its class sizes before loading (an
    optional ``class_counts() -> {class name: samples}``); None when it can or is not known
    until the data is loaded (then the runner checks it, before featurizing)."""
    counts = getattr(dataset, "class_counts", None)
    if not callable(counts) or split.get("method") == "predefined":
        return None
    from .splits import SplitError, check_splits

    sizes = dict(counts() or {})
    if not sizes:
        return None
    y = np.repeat(np.arange(len(sizes)), list(sizes.values()))
    try:
        check_splits(y, list(sizes), split, seeds)
    except SplitError as exc:
        return str(exc)
    return None


def cell_options(suite: Any) -> tuple[tuple[str, Any], ...]:
    """The suite options that are part of every cell's identity (empty when none are set, so
    suites without them keep their cell ids)."""
    opts: dict[str, Any] = {}
    if getattr(suite, "imbalance", None) is not None:
        opts["imbalance"] = suite.imbalance.model_dump()
    if getattr(suite, "robustness", None) is not None and suite.robustness.sweeps():
        opts["robustness"] = suite.robustness.sweeps()
    return tuple(sorted((k, _freeze(v)) for k, v in opts.items()))
