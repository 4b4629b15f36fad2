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
from .timeouts import alarm, in_process_enforceable


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
    #: seconds the cell may run (``cell_timeout``); executors enforce it (:mod:`.timeouts`)
    timeout: float | None = None
    #: the training rows' groups (``MultimodalData.groups``), for a grouped inner split
    groups_train: np.ndarray | None = None


OnDone = Callable[[CellTask, "CellOutcome | BaseException"], None]
OnStart = Callable[[CellTask, str], None]


class SerialExecutor:
    """Runs cells one after another in this process."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def run(self, tasks: Iterable[CellTask], on_done: OnDone,
            on_start: OnStart | None = None) -> None:
        for task in tasks:
            if on_start is not None:
                on_start(task, "this process")
            try:
                with alarm(task.timeout):  # code that returns to Python only (see .timeouts)
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


def dispatch(executor: Any, tasks: Iterable[CellTask], on_done: OnDone, reporter: Any,
             label: Callable[[CellTask], str], timeout: float | None = None) -> None:
    """``executor.run`` with the running cells shown by ``reporter`` (executors whose ``run``
    takes ``on_start`` say when each cell starts; for others a cell counts as running from
    when it is handed over)."""
    import inspect

    if timeout and not getattr(executor, "remote", False):
        reporter.log("note: cell_timeout in this process stops a plugin only when it returns "
                     "to Python" + ("" if in_process_enforceable() else " (and not here: no "
                                    "SIGALRM in this thread)") + "; a plugin stuck in native "
                     "code is stopped only with worker processes (--n-jobs 2, or dask)")

    def started(task: CellTask, where: str) -> None:
        reporter.started(task.cell.cell_id, label(task), where)

    def done(task: CellTask, outcome: CellOutcome | BaseException) -> None:
        reporter.finished(task.cell.cell_id)
        on_done(task, outcome)

    if "on_start" in inspect.signature(executor.run).parameters:
        executor.run(tasks, done, on_start=started)
        return

    def handed(items: Iterable[CellTask]) -> Iterable[CellTask]:
        for task in items:
            started(task, "")
            yield task

    executor.run(handed(tasks), done)


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
    #: skipped cells whose record says failed (retried by ``rerun_failed`` / ``--rerun-failed``)
    kept_failed: int = 0
    features_computed: int = 0
    #: of the cells run, those recorded from another seed's computation (the same one: see
    #: :mod:`mmbench.seed_sharing`)
    shared: int = 0
    seconds: float = 0.0
    #: where the time went (:mod:`mmbench.breakdown`)
    cost: dict[str, Any] = field(default_factory=dict)
