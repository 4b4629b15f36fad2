"""The order in which a split's cells go to the executor: longest first.

Cells of one split run side by side on the executor's workers; a long cell handed over last
keeps one worker busy while the others have nothing left to do. The same cell of another seed
or fold (same dataset, featurizers, fusion, classifier) costs about the same, so once one has
run, the cells of later splits are handed over in decreasing order of what theirs took
(cells with no such measure first, in plan order): the long ones start early and the short ones
fill the gaps at the end. Only the order changes: every cell's result is its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from .plan import Cell


def _kind(cell: Cell) -> Cell:
    """``cell`` whatever its seed and fold."""
    return dataclasses.replace(cell, seed=0, fold=0)


class LongestFirst:
    """What each kind of cell took (its last run in this process), and the order it implies."""

    def __init__(self) -> None:
        self.took: dict[Cell, float] = {}

    def done(self, cell: Cell, timings: dict[str, Any]) -> None:
        """Note the seconds a cell took (the sum of its ``*_s`` timings)."""
        self.took[_kind(cell)] = sum(float(v) for k, v in timings.items() if k.endswith("_s"))

    def order(self, cells: Iterable[Cell]) -> list[Cell]:
        """``cells`` longest first by what their kind took; unmeasured ones first, as given."""
        return sorted(cells, key=lambda c: -self.took.get(_kind(c), math.inf))
