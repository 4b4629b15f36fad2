"""A cell's task as executors get it, the in-process executor, and what a run reports."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cell import CellOutcome, evaluate_cell
from .errors import MmbenchError, UserError
from .plan import Cell
from .plugins import Catalog, get_catalog


class CellFailed(MmbenchError):
    """A cell failed and the run was asked to stop at the first failure (``--fail-fast``)."""


class CellsNotRecorded(UserError):
    """Bad input met during the run (data that does not load, a plugin breaking its contract,
    a featurization too big for memory): the cells it touched were not recorded, every other
    cell was. Raised at the end of the run; the message is the first problem's."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary
        problems = list(dict.fromkeys(message for _, message in summary.not_recorded))
        more = f" (and {len(problems) - 1} other problem(s), logged above)" if problems[1:] else ""
        super().__init__(
            f"{problems[0].rstrip('. ')}{more}. {len(summary.not_recorded)} cell(s) not "
            f"recorded, {summary.ran + len(summary.failed)} recorded this run; fix the input "
            f"and run again to add the missing cells")


@dataclass
class CellTask:
    """Everything a cell needs, ready for any executor."""

    cell: Cell
    train: dict[str, np.ndarray]
    y_train: np.ndarray
    test: dict[str, np.ndarray]
    y_test: np.ndarray
    test_index: np.ndarray
    n_classes: int
    device: str = "cpu"
    #: modality -> key naming the (train, test) feature matrices of this split; cells sharing
    #: a featurization share the key, so remote executors send each matrix once.
    feature_keys: dict[str, str] = field(default_factory=dict)
    #: names this split's (y_train, y_test), shared by every cell of the split
    split_key: str = ""
    robust: list[Any] = field(default_factory=list)
    class_names: tuple[str, ...] = ()
    #: the training rows' groups (``MultimodalData.groups``), for a grouped inner split
    groups_train: np.ndarray | None = None


OnDone = Callable[[CellTask, "CellOutcome | BaseException"], None]


class SerialExecutor:
    """Runs cells one after another in this process."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def run(self, tasks: Iterable[CellTask], on_done: OnDone) -> None:
        for task in tasks:
            try:
                outcome: CellOutcome | BaseException = run_task(task, self.catalog)
            except Exception as exc:  # recorded by on_done; the run goes on
                exc.__mmbench_traceback__ = traceback.format_exc()  # type: ignore[attr-defined]
                outcome = exc
            on_done(task, outcome)


def run_task(task: CellTask, catalog: Catalog | None = None) -> CellOutcome:
    """Evaluate one task (the function executors ship to workers)."""
    return evaluate_cell(task.cell, task.train, task.y_train, task.test, task.y_test,
                         task.n_classes, catalog or get_catalog(), task.device, task.robust,
                         task.class_names, groups=task.groups_train)


@dataclass
class RunSummary:
    results_dir: Path
    planned: int = 0
    skipped: int = 0
    ran: int = 0
    failed: list[tuple[Cell, str]] = field(default_factory=list)
    #: cells met by a user error (bad data, a plugin's contract broken): nothing recorded
    not_recorded: list[tuple[Cell, str]] = field(default_factory=list)
    #: recorded cells whose inputs (data, plugin versions) changed: run again, old records
    #: moved to ``superseded/``
    stale: int = 0
    features_computed: int = 0
    seconds: float = 0.0
    #: where the time went (:mod:`mmbench.breakdown`)
    cost: dict[str, Any] = field(default_factory=dict)
