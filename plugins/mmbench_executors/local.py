"""The ``local`` executor: cells in this process (``n_jobs = 1``) or a process pool, whose
workers map each feature matrix from a shared file instead of receiving it with every cell
(:mod:`.shared`).

Each pool worker says when it starts a cell (through a queue), so the run shows what is
running, on which worker, for how long; a cell past its ``timeout`` is stopped inside its worker
(``SIGALRM``: the pool goes on) or, when it does not return to Python within ``GRACE_S`` more
seconds, by killing that worker: the pool is then started again and the other cells that were
in flight on it are run again (they were not at fault).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
import traceback
from collections.abc import Iterable
from typing import Any

from mmbench.executor_api import (CellTask, CellTimeout, OnDone, OnStart, SerialExecutor,
                                  alarm, array_keys, get_catalog, pin_threads, run_remote,
                                  skeleton)

from .shared import Ref, SharedArrays, resolve_all

#: seconds past a cell's timeout before its worker is killed (it did not return to Python)
GRACE_S = 5.0
#: how often the pool is polled for started cells and time limits
POLL_S = 0.2
_starts: Any = None  # in a worker: the queue on which it says which cell it starts


def _start_worker(starts: Any = None) -> None:
    """Pool initializer: one BLAS thread, and the plugins loaded before the first cell."""
    global _starts
    _starts = starts
    pin_threads()
    get_catalog()


def _run_shared(task: CellTask, train: dict[str, Ref], y_train: Ref, test: dict[str, Ref],
                y_test: Ref, token: int = -1) -> Any:
    """In a pool worker: map the cell's shared arrays, then run it on one thread."""
    if _starts is not None:
        _starts.put((token, os.getpid(), time.time()))
    with alarm(task.timeout):
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
        self._starts: Any = None
        self.shared = SharedArrays()
        self.restarts = 0  # pools started again after a worker was killed

    @property
    def remote(self) -> bool:
        """True when cells run in other processes (which load plugins from entry points)."""
        return self.n_jobs > 1

    def _start_pool(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, wait

        if self._pool is None:  # kept across the run's splits; close() shuts it down
            ctx = multiprocessing.get_context("spawn")
            if self._starts is None:
                self._starts = ctx.Queue()
            self._pool = ProcessPoolExecutor(self.n_jobs, mp_context=ctx,
                                             initializer=_start_worker,
                                             initargs=(self._starts,))
            # start every worker now, in parallel (the pool spawns lazily, one per submit)
            wait([self._pool.submit(os.getpid) for _ in range(self.n_jobs)])
        return self._pool

    def run(self, tasks: Iterable[CellTask], on_done: OnDone,
            on_start: OnStart | None = None) -> None:
        if self.n_jobs == 1:
            SerialExecutor(self.catalog or get_catalog()).run(tasks, on_done, on_start)
            return
        from concurrent.futures import FIRST_COMPLETED, Future, wait
        from concurrent.futures.process import BrokenProcessPool

        self._start_pool()
        tokens = itertools.count()
        running: dict[Future[Any], tuple[CellTask, list[str], int]] = {}
        started: dict[int, tuple[int, float]] = {}  # token -> (worker pid, start time)
        killed: set[int] = set()  # tokens whose worker was killed for their time limit
        attempts: dict[str, int] = {}

        def submit(task: CellTask) -> None:
            pool = self._start_pool()
            train_keys, test_keys, ytrain_key, ytest_key = array_keys(task)
            def share(key: str, array: Any) -> Ref:
                return self.shared.share(key, array, split=ytrain_key)

            token = next(tokens)
            attempts[task.cell.cell_id] = attempts.get(task.cell.cell_id, 0) + 1
            fut = pool.submit(
                _run_shared, skeleton(task),
                {m: share(k, task.train[m]) for m, k in train_keys.items()},
                share(ytrain_key, task.y_train),
                {m: share(k, task.test[m]) for m, k in test_keys.items()},
                share(ytest_key, task.y_test), token)
            running[fut] = task, [*train_keys.values(), *test_keys.values(), ytrain_key,
                                  ytest_key], token

        def watch() -> None:
            """Note the cells that started; kill a worker whose cell is past its limit."""
            while True:
                try:
                    token, pid, at = self._starts.get_nowait()
                except Exception:  # queue.Empty
                    break
                started[token] = (pid, at)
                task = next((t for t, _, k in running.values() if k == token), None)
                if task is not None and on_start is not None:
                    on_start(task, f"worker pid {pid}")
            now = time.time()
            for task, _, token in list(running.values()):
                if token in started and token not in killed and task.timeout and (
                        now - started[token][1] > task.timeout + GRACE_S):
                    killed.add(token)
                    try:
                        os.kill(started[token][0], signal.SIGKILL)
                    except ProcessLookupError:
                        pass

        def collect(block: bool) -> None:
            watch()
            done, _ = wait(list(running), timeout=POLL_S if block else 0,
                           return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task, keys, token = running.pop(fut)
                for key in keys:
                    self.shared.release(key)
                try:
                    outcome = fut.result()
                except BrokenProcessPool as exc:
                    broken = True
                    if token in killed:
                        outcome = CellTimeout(task.timeout or 0)
                    elif attempts[task.cell.cell_id] < 2:  # lost with a killed neighbour
                        submit_later.append(task)
                        continue
                    else:
                        outcome = exc
                except Exception as exc:  # recorded by on_done; the run goes on
                    outcome = exc
                if isinstance(outcome, BaseException):
                    outcome.__mmbench_traceback__ = "".join(  # type: ignore[attr-defined]
                        traceback.format_exception(outcome))
                on_done(task, outcome)
            if broken:  # every worker is gone: a fresh pool for what is left
                self._discard_pool()
                self.restarts += 1
                while submit_later:
                    submit(submit_later.pop(0))

        submit_later: list[CellTask] = []
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
            self._discard_pool()
            self.shared.close()
            raise

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Shut the process pool down (the runner calls this at the end of a run)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self.shared.close()
        if self._starts is not None:
            self._starts.close()
            self._starts = None
