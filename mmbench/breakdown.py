"""Where a run's time went: loading, each featurizer, fitting, predicting, scoring (with the
bootstrap intervals), robustness scoring, writing, and the rest.

The runner times what happens in its own process (loading, featurization, cache reads,
writing records) and adds each finished cell's own timings (``fit_s``, ``predict_s``,
``score_s``, ``robust_s``, and the cell's remaining time as ``cell_other_s``: building the
plugins, checking their output). Cell phases are summed over cells: with several workers they
can exceed the wall time, and the table says so. The breakdown is printed at the end of every
run, stored in the manifest (``cost``) and shown in the report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.table import Table

#: cell timing key -> phase name, in display order
CELL_PHASES = {"tune_s": "tuning (inner split search)", "fit_s": "fitting",
               "predict_s": "predicting",
               "score_s": "scoring (metrics, bootstrap CIs)",
               "robust_s": "robustness scoring", "cell_other_s": "cell setup and checks"}


class Breakdown:
    """Seconds per phase, in the order phases first appear."""

    def __init__(self) -> None:
        self.client: dict[str, float] = {}  # phases of the calling process
        self.cells: dict[str, float] = {}   # phases summed over cells (any process)
        self.n_cells = 0
        self.workers: set[str] = set()
        self.in_process = 0.0  # seconds of cells run in this process (part of the wall time)
        self.started = time.perf_counter()

    def add(self, phase: str, seconds: float) -> None:
        self.client[phase] = self.client.get(phase, 0.0) + max(float(seconds), 0.0)

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - t0)

    def add_cell(self, timings: Mapping[str, float], worker: Mapping[str, Any]) -> None:
        """A finished cell's timings (``CellOutcome.timings``) and where it ran."""
        self.n_cells += 1
        for key, phase in CELL_PHASES.items():
            if key in timings:
                self.cells[phase] = self.cells.get(phase, 0.0) + float(timings[key])
        if worker:
            self.workers.add(f"{worker.get('host')}:{worker.get('pid')}")
            if worker.get("pid") == os.getpid() and "started" in worker:
                self.in_process += float(worker["finished"]) - float(worker["started"])

    def as_dict(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.started
        client = dict(self.client)
        # planning, splitting, starting workers, waiting for them, drawing progress
        client["other (splits, starting and waiting for workers)"] = max(
            wall - sum(self.client.values()) - self.in_process, 0.0)
        return {"wall_s": wall, "client": client, "cells": dict(self.cells),
                "n_cells": self.n_cells, "n_workers": len(self.workers)}


def cells_cost(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The cell phases of stored records (for results folders whose manifest has no cost)."""
    b = Breakdown()
    for r in records:
        if r.get("status") == "ok":
            b.add_cell(r.get("timings", {}), r.get("worker", {}))
    out = b.as_dict()
    out["wall_s"] = None
    return out


def rows(cost: Mapping[str, Any]) -> list[tuple[str, float, float]]:
    """(phase, seconds, share of all phases) rows, client phases then cell phases."""
    parts = [*cost.get("client", {}).items(),
             *(("cells: " + k, v) for k, v in cost.get("cells", {}).items())]
    total = sum(v for _, v in parts) or 1.0
    return [(name, secs, secs / total) for name, secs in parts if secs > 0]


def note(cost: Mapping[str, Any]) -> str:
    """What the cell rows are: summed over how many cells and worker processes."""
    wall = cost.get("wall_s")
    n, w = cost.get("n_cells", 0), cost.get("n_workers", 0)
    text = f"cell phases summed over {n} cell(s) in {w} process(es)"
    if wall is not None:
        text += f"; the run took {wall:.1f} s wall"
    return text


def table(cost: Mapping[str, Any], title: str = "where the time went") -> Table:
    t = Table(title=title, header_style="bold")
    t.add_column("phase")
    t.add_column("seconds", justify="right")
    t.add_column("share", justify="right")
    for name, secs, share in rows(cost):
        t.add_row(escape(name), f"{secs:.1f}" if secs >= 10 else f"{secs:.2f}", f"{share:.0%}")
    t.caption = note(cost)
    return t
