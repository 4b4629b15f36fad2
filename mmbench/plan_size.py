"""A run states its size before it starts, and a very large one starts only when asked for:
a sweep typed with one list too many can plan ten thousand cells."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError
from .plan import Plan

#: Cells not yet recorded above which ``mmbench run`` wants ``--yes``
#: (``MMBENCH_CONFIRM_CELLS`` sets another threshold).
CONFIRM_ABOVE = 1000


def threshold() -> int:
    try:
        return int(os.environ.get("MMBENCH_CONFIRM_CELLS", CONFIRM_ABOVE))
    except ValueError as exc:
        raise UserError(f"MMBENCH_CONFIRM_CELLS must be a number of cells, got "
                        f"{os.environ['MMBENCH_CONFIRM_CELLS']!r}") from exc


def announce(plan: Plan, *, yes: bool = True, rerun: bool = False) -> str:
    """The line stating the plan's size (cells, and how many have no record yet), printed by
    the run once it holds the results folder (so a refused run stays one line); refuse
    (UserError) when more than :func:`threshold` cells are to run and ``yes`` is not given."""
    cells_dir = Path(plan.suite.results_dir) / plan.suite.name / "cells"
    recorded = {p.stem for p in cells_dir.glob("*.json")} if cells_dir.is_dir() else set()
    todo = len(plan.cells) if rerun else sum(c.cell_id not in recorded for c in plan.cells)
    limit = threshold()
    if todo > limit and not yes:
        raise UserError(
            f"{plan.loaded.path} plans {len(plan.cells):,} cells, {todo:,} of them to run "
            f"(more than {limit:,}); nothing was started: run it with --yes if that is meant, "
            f"or narrow the suite (fewer sweep values, 'only' tables); mmbench validate shows "
            f"the count")
    return (f"plan: {len(plan.cells):,} cells, {todo:,} without a record "
            f"({len(plan.cells) - todo:,} recorded before)")
