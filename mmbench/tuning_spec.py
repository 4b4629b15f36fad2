"""Plan-time side of tuning: a suite entry's ``tune`` table and ``select = "validation"``,
checked against the plugin and turned into a grid of candidate values.

``tune = { C = [0.01, 0.1, 1], standardize = [true, false] }`` lists candidates; ``{ log =
[lo, hi], n = k }`` gives ``k`` values spaced evenly on a log scale from ``lo`` to ``hi``
(``numpy.geomspace``). ``select = "validation"`` turns the entry's list-valued ``params`` (a
sweep, one row per value) into such a grid: one row whose value is chosen on the inner split.
Which candidate wins is decided at run time (:mod:`mmbench.tuning`); here every candidate is
built once, so a bad value fails before any work.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import UserError
from .registry import CONTEXT_PARAMS, build

#: Fusion parameter that only decision-level fusions take (refused elsewhere, saying where).
CALIBRATE = "calibrate"


def log_range(spec: Mapping[str, Any]) -> list[float]:
    """``{log = [lo, hi], n = k}`` -> ``k`` log-spaced values (ValueError saying what is wrong)."""
    extra = sorted(set(spec) - {"log", "n"})
    if extra or "log" not in spec:
        raise ValueError(f"a range is written {{ log = [lo, hi], n = k }}; got keys "
                         f"{sorted(spec)}")
    bounds, n = spec["log"], spec.get("n", 5)
    if (not isinstance(bounds, list) or len(bounds) != 2 or not all(
            isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)):
        raise ValueError(f"log = {bounds!r} must be two numbers [lo, hi]")
    lo, hi = bounds
    if lo <= 0 or hi <= 0:
        raise ValueError(f"log range [{lo}, {hi}] must be positive (a log scale has no 0 or "
                         f"negative values)")
    if lo >= hi:
        raise ValueError(f"log range [{lo}, {hi}] is empty: write it [low, high] with low < "
                         f"high")
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n = {n!r} must be an integer >= 2 (the number of values)")
    return [float(f"{v:.6g}") for v in np.geomspace(lo, hi, n)]


def candidates(value: Any) -> list[Any]:
    """A ``tune`` value as its list of candidates."""
    if isinstance(value, dict):
        return log_range(value)
    if isinstance(value, list):
        if not value:
            raise ValueError("the list of candidates is empty")
        return value
    raise ValueError(f"{value!r} is one value; tune lists candidates ([a, b, ...]) or a range "
                     f"{{ log = [lo, hi], n = k }} (a fixed value goes in params)")


def decision_fusions(catalog: Any) -> list[str]:
    """Names of the registered fusions that take ``calibrate``."""
    return sorted(e.name for e in catalog["fusion"] if CALIBRATE in e.params)


def calibrate_problem(kind: str, entry: Any, catalog: Any) -> str:
    """Why ``calibrate`` is refused on ``entry`` (a fusion without it, or a classifier)."""
    where = ", ".join(decision_fusions(catalog)) or "none installed"
    what = (f"fusion {entry.name!r} is {getattr(entry.cls, 'level', '?')}-level" if
            kind == "fusion" else f"{entry.name!r} is a classifier")
    return (f"calibrate applies to the decision-level fusions ({where}), which calibrate each "
            f"modality's classifier before combining; {what}")


def entry_grid(kind: str, entry: Any, spec: Any, loc: tuple[Any, ...], loaded: Any,
               catalog: Any, problems: list[str]) -> tuple[dict[str, Any], dict[str, list[Any]],
                                                          bool] | None:
    """(params to expand as a sweep, grid to tune over, select) for a suite entry; None when
    it has problems (added to ``problems`` with their TOML location)."""
    tune = dict(getattr(spec, "tune", None) or {})
    select = getattr(spec, "select", None) == "validation"
    params = dict(spec.params)
    accepted = [p for p in entry.params if p not in CONTEXT_PARAMS]
    before = len(problems)
    for key, value in tune.items():
        where = loaded.locate((*loc, "tune", key))
        if key == CALIBRATE and key not in entry.params:
            problems.append(f"{where}: {calibrate_problem(kind, entry, catalog)}")
            continue
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{where}: tune key {key!r} is not a parameter of {kind} "
                            f"{entry.name!r}{hint} valid: {', '.join(accepted) or 'none'}")
            continue
        if key in params:
            problems.append(f"{where}: {key} is both tuned and fixed (params.{key} = "
                            f"{params[key]!r}); keep one: drop it from params to tune it")
            continue
        try:
            tune[key] = candidates(value)
        except ValueError as exc:
            problems.append(f"{where}: tune.{key}: {exc}")
    if select:
        swept = {k: v for k, v in params.items() if isinstance(v, list)}
        if not swept and not tune:
            problems.append(f"{loaded.locate((*loc, 'select'))}: select = \"validation\" "
                            f"chooses among a sweep, but {kind} {entry.name!r} sweeps nothing; "
                            f"give a parameter a list of values or drop select")
        for key, values in swept.items():
            tune[key] = values
            del params[key]
    if len(problems) > before:
        return None
    if tune:
        fixed = {k: v[0] if isinstance(v, list) else v for k, v in params.items()}
        for combo in grid_points(tune):
            try:
                build(entry, {**fixed, **combo})
            except UserError as exc:
                problems.append(f"{loaded.locate((*loc, 'tune'))}: candidate {combo}: {exc}")
                return None
    return params, tune, select


def grid_points(grid: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in scikit-learn's ``ParameterGrid`` order."""
    from sklearn.model_selection import ParameterGrid

    return list(ParameterGrid({k: list(v) for k, v in grid.items()})) if grid else [{}]


def uses_inner(fusion: Any, classifier: Any) -> bool:
    """Whether a cell needs the suite's inner split: something tuned, or a calibrated fusion."""
    return bool(fusion.tune or classifier.tune) or fusion.kwargs.get(CALIBRATE, "none") != "none"
