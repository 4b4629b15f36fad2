"""Progress reporting: rich bars on a terminal, one plain line per event otherwise (CI logs).

Plugins report progress of long loops with :func:`track`; it draws into the runner's display
when there is one and costs nothing when there is not::

    for batch in mmbench.progress.track(batches, total=len(batches), description="clip image"):
        ...
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from rich.console import Console

from .activity import Activities
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
_active: ContextVar[Reporter | None] = ContextVar("mmbench_progress", default=None)


class Reporter:
    """Draws bars (``live``) or prints plain lines; one per run. What is running (cells,
    featurizations) is a row each with its elapsed time, or, without a terminal, a line every
    minute (:mod:`mmbench.activity`)."""

    def __init__(self, console: Console, live: bool | None = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.progress: Progress | None = None
        self.activities = Activities(None if self.live else
                                     (lambda line: self.log(escape(line))))
        self._rows: dict[Any, Any] = {}
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )

    def __enter__(self) -> Reporter:
        if self.progress is not None:
            self.progress.start()
        self.activities.__enter__()
        self._token = _active.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _active.reset(self._token)
        self.activities.__exit__()
        if self.progress is not None:
            self.progress.stop()

    def started(self, key: Any, label: str, where: str = "") -> None:
        """``label`` began running (on ``where``): a row with its elapsed time."""
        self.activities.start(key, label, where)
        if self.progress is not None:
            self._rows[key] = self.progress.add_task(
                escape(f"running {label}" + (f" on {where}" if where else "")), total=None)

    def finished(self, key: Any) -> None:
        self.activities.finish(key)
        row = self._rows.pop(key, None)
        if row is not None and self.progress is not None:
            self.progress.remove_task(row)

    def add_task(self, description: str, total: int | None) -> Any:
        if self.progress is not None:
            return self.progress.add_task(escape(description), total=total)  # plain text
        return None

    def advance(self, task: Any, n: int = 1) -> None:
        if self.progress is not None and task is not None:
            self.progress.advance(task, n)

    def log(self, message: str) -> None:
        """A line that stays (above the bars when live)."""
        self.console.print(message, highlight=False)


def track(
    iterable: Iterable[T], total: int | None = None, description: str = "working"
) -> Iterator[T]:
    """Yield from ``iterable`` while advancing a bar (or, without a terminal, printing one
    line at the start and one at the end)."""
    reporter = _active.get()
    if reporter is None:
        yield from iterable
        return
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    task = reporter.add_task(description, total)
    start = time.perf_counter()
    key = object()
    reporter.activities.start(key, description, total=total)  # in the minute lines
    if not reporter.live:
        reporter.log(escape(f"{description}: started ({total if total is not None else '?'} steps)"))
    try:
        for item in iterable:
            yield item
            reporter.advance(task)
            reporter.activities.step(key)
    finally:
        reporter.activities.finish(key)
    if not reporter.live:
        reporter.log(escape(f"{description}: done in {time.perf_counter() - start:.1f} s"))
    elif reporter.progress is not None and task is not None:
        reporter.progress.remove_task(task)


@contextmanager
def activity(label: str) -> Iterator[None]:
    """Show ``label`` as running (with its elapsed time) while the block runs."""
    reporter = _active.get()
    if reporter is None:
        yield
        return
    key = object()
    reporter.started(key, label)
    try:
        yield
    finally:
        reporter.finished(key)
