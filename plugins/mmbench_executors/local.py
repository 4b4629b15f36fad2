"""The ``local`` executor: cells in this process (``n_jobs = 1``) or a process pool, whose
workers map each feature matrix from a shared file instead of receiving it with every cell
(:mod:`.shared`)."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable
from typing import Any

from mmbench.executor_api import (CellTask, OnDone, SerialExecutor, array_keys, get_catalog,
                                  pin_threads, run_remote, skeleton)

from .shared import Ref, SharedArrays, resolve_all


def _start_worker() -> None:
    """Pool initializer: one BLAS thread, and the plugins loaded before the first cell."""
    pin_threads()
    get_catalog()


def _run_shared(task: CellTask, train: dict[str, Ref], y_train: Ref, test: dict[str, Ref],
                y_test: Ref) -> Any:
    """In a pool worker: map the cell's shared arrays, then run it on one thread."""
    return run_remote(task, *resolve_all(train, y_train, test, y_test), threads=1)


class LocalExecutor:
    """Runs cells in this process, or in ``n_jobs`` worker processes (one BLAS thread each).

    :param n_jobs: worker processes; 1 runs every cell in this process.
    :param catalog: the plugin catalog the cells' plugins come from (set by mmbench, not by a
        suite).
    """

    name = "local"

    def __init__(self, *, n_jobs: int = 1, catalog: Any = None) -> None:
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
            raise ValueError(f"n_jobs must be an integer >= 1, got {n_jobs!r}")
        self.n_jobs = n_jobs
        self.catalog = catalog
        self._pool: Any = None
        self.shared = SharedArrays()

    @property
    def remote(self) -> bool:
        """True when cells run in other processes (which load plugins from entry points)."""
        return self.n_jobs > 1

    def run(self, tasks: Iterable[CellTask], on_done: OnDone) -> None:
        if self.n_jobs == 1:
            SerialExecutor(self.catalog or get_catalog()).run(tasks, on_done)
            return
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

        if self._pool is None:  # kept across the run's splits; close() shuts it down
            self._pool = ProcessPoolExecutor(
                self.n_jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker)
            # start every worker now, in parallel (the pool spawns lazily, one per submit)
            wait([self._pool.submit(os.getpid) for _ in range(self.n_jobs)])
        pool = self._pool
        running: dict[Future[Any], tuple[CellTask, list[str]]] = {}

        def submit(task: CellTask) -> None:
            train_keys, test_keys, ytrain_key, ytest_key = array_keys(task)
            share = self.shared.share
            fut = pool.submit(
                _run_shared, skeleton(task),
                {m: share(k, task.train[m]) for m, k in train_keys.items()},
                share(ytrain_key, task.y_train),
                {m: share(k, task.test[m]) for m, k in test_keys.items()},
                share(ytest_key, task.y_test))
            running[fut] = task, [*train_keys.values(), *test_keys.values(), ytrain_key,
                                  ytest_key]

        def collect(block: bool) -> None:
            done, _ = wait(list(running), timeout=None if block else 0,
                           return_when=FIRST_COMPLETED)
            for fut in done:
                task, keys = running.pop(fut)
                for key in keys:
                    self.shared.release(key)
                try:
                    outcome = fut.result()
                except Exception as exc:  # recorded by on_done; the run goes on
                    exc.__mmbench_traceback__ = "".join(  # type: ignore[attr-defined]
                        traceback.format_exception(exc))
                    outcome = exc
                on_done(task, outcome)

        try:
            for task in tasks:
                submit(task)
                # at most two cells per process in flight: results stream back in order
                # of completion and memory stays bounded
                while len(running) >= 2 * self.n_jobs:
                    collect(block=True)
                collect(block=False)
            while running:
                collect(block=True)
        except BaseException:
            for fut in running:
                fut.cancel()
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            self.shared.close()
            raise

    def close(self) -> None:
        """Shut the process pool down (the runner calls this at the end of a run)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.shared.close()
