"""The ``local`` executor: cells in this process (``n_jobs = 1``) or a process pool, whose
workers map each feature matrix from a shared file instead of receiving it with every cell
(:mod:`.shared`).

Each pool worker says when it starts a cell (through a queue), so the run shows what is
running, on which worker, for how long; a cell past its ``timeout`` is stopped inside its worker
(``SIGALRM``: the pool goes on) or, when it does not return to Python within ``GRACE_S`` more
seconds, by killing that worker: the pool is then started again and the other cells that were
in flight on it are run again (they were not at fault).

With ``n_jobs > 1`` featurizations run on the workers too (``featurize``), split into shards of
``shard_size`` samples: one thread per worker instead of a multi-threaded client competing with
the cells for the cores. Only a featurization on a CUDA device stays in this process (one
process owns the GPU). While shards run, the cells beside them are collected as they finish
and held to their time limits; shards lost to a worker killed for a cell's time limit run again
without counting against their attempts. On Linux the workers end with the run, also when it
is killed (``SIGKILL``, ``SIGTERM``), instead of running their cells on.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mmbench.executor_api import (CellTask, CellTimeout, FeaturizationError, FeaturizeJob,
                                  OnDone, OnStart, SerialExecutor, alarm, array_keys,
                                  get_catalog, pin_threads, run_job, run_remote, run_shard_job,
                                  shard_jobs, shardable, skeleton)

from .shared import Ref, SharedArrays, resolve_all

#: seconds past a cell's timeout before its worker is killed (it did not return to Python)
GRACE_S = 5.0
#: how often the pool is polled for started cells and time limits
POLL_S = 0.2
#: attempts of a featurization shard whose worker died before it is given up
SHARD_ATTEMPTS = 3
_starts: Any = None  # in a worker: the queue on which it says which cell it starts
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent thread ends


def _start_worker(starts: Any = None, parent: int | None = None) -> None:
    """Pool initializer: death with the ``parent`` process, one BLAS thread, the plugins loaded
    before the first cell, and a quick exit when the pool shuts down."""
    global _starts
    _starts = starts
    if parent is not None:
        _die_with(parent)
    pin_threads()
    get_catalog()
    atexit.register(_exit_now)  # runs first (last registered): nothing after it runs


def _die_with(parent: int) -> None:
    """On Linux, have the kernel kill this worker when the thread that started it ends (the
    run's, which owns the pool): a run killed with SIGKILL or SIGTERM leaves no worker running
    its cell on. Elsewhere a worker ends after its cell, when it finds the pool gone."""
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return
    if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != parent:
        os._exit(0)  # the run ended before the request took effect


def _exit_now() -> None:
    """A worker's exit once its pool is shut down (its results are all sent): output flushed,
    then the process ends without tearing the interpreter down, which took seconds in a
    worker holding torch, xgboost and its kept fits while ``close()`` waited for it."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _run_shared(task: CellTask, train: dict[str, Ref], y_train: Ref, test: dict[str, Ref],
                y_test: Ref, token: int = -1) -> Any:
    """In a pool worker: map the cell's shared arrays, then run it on one thread."""
    if _starts is not None:
        _starts.put((token, os.getpid(), time.time()))
    with alarm(task.timeout):
        return run_remote(task, *resolve_all(train, y_train, test, y_test), threads=1)


def _featurize_here(job: FeaturizeJob, start: int, stop: int) -> Any:
    """In a pool worker: a featurization shard (``start:stop``), or a whole job (-1, -1)."""
    if start < 0:
        return run_job(job)
    return run_shard_job(job, start, stop, f"pool worker pid {os.getpid()}")


def _on_gpu(job: FeaturizeJob) -> bool:
    """Whether ``job`` would run on a CUDA device (``auto`` where torch sees one)."""
    device = str(job.variant.kwargs.get("device", job.context.get("device", "cpu")))
    if device.startswith("cuda"):
        return True
    if device != "auto":
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


class LocalExecutor:
    """Runs cells in this process, or in ``n_jobs`` worker processes (one BLAS thread each).

    :param n_jobs: worker processes; 1 runs every cell in this process.
    :param featurize: where featurizations run with ``n_jobs > 1``: ``"workers"`` (in shards
        on the pool; on a CUDA device in this process) or ``"client"`` (this process).
    :param shard_size: samples per featurization shard (a multiple of the featurizers' batch
        sizes keeps their batches, and so their matrix, the same as in one process).
    :param catalog: the plugin catalog the cells' plugins come from (set by mmbench, not by a
        suite).
    """

    name = "local"

    def __init__(self, *, n_jobs: int = 1, featurize: str = "workers", shard_size: int = 1024,
                 catalog: Any = None) -> None:
        for label, value in (("n_jobs", n_jobs), ("shard_size", shard_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
        if featurize not in ("client", "workers"):
            raise ValueError(f"featurize must be 'client' or 'workers', got {featurize!r}")
        self.n_jobs = n_jobs
        self.featurize = featurize
        self.shard_size = shard_size
        self.shards = 0  # featurization shards computed on the workers so far
        self.catalog = catalog
        self._pool: Any = None
        self._starts: Any = None
        self._booted: list[Any] = []
        self._between: Callable[[], None] | None = None  # while run() runs: collect cells
        self._stopped: set[Any] = set()  # pools broken by killing a cell past its time limit
        self.shared = SharedArrays()
        self.restarts = 0  # pools started again after a worker was killed

    @property
    def remote(self) -> bool:
        """True when cells run in other processes (which load plugins from entry points)."""
        return self.n_jobs > 1

    @property
    def featurizes(self) -> bool:
        """Whether featurizations run on the pool (``n_jobs > 1``, ``featurize = "workers"``)."""
        return self.n_jobs > 1 and self.featurize == "workers"

    def run_featurize(self, job: FeaturizeJob) -> list[Any]:
        """``job``'s matrices, computed on the pool: in shards of ``shard_size`` samples when
        the featurizer does not learn from data (rows assembled here in sample order), else
        as one task. A worker that dies loses only the shards not yet returned, which run
        again on a fresh pool (:data:`SHARD_ATTEMPTS` times at most). On a CUDA device the
        job runs in this process."""
        import numpy as np

        if _on_gpu(job):
            return run_job(job, self.catalog)
        pieces = (shard_jobs(job, self.shard_size) if shardable(job, self.shard_size)
                  else [(-1, -1, job)])
        done: dict[int, Any] = {}
        attempts = [0] * len(pieces)
        while len(done) < len(pieces):
            done.update(self._featurize_round(pieces, done, attempts))
        if pieces[0][0] < 0:
            return done[0]
        self.shards += len(pieces)
        return [np.concatenate([done[i] for i in range(len(pieces))], axis=0)]

    def _featurize_round(self, pieces: list[tuple[int, int, FeaturizeJob]], done: dict[int, Any],
                         attempts: list[int]) -> dict[int, Any]:
        """Submit the pieces not ``done`` to the pool; their results, until the pool breaks (a
        worker died), when it is replaced for the next round."""
        from concurrent.futures.process import BrokenProcessPool

        from mmbench.progress import track

        pool = self._start_pool()
        futures = {pool.submit(_featurize_here, piece, a, b): i
                   for i, (a, b, piece) in enumerate(pieces) if i not in done}
        out: dict[int, Any] = {}
        broken = False
        what = pieces[0][2].variant.label
        try:
            for fut in track(self._completed(futures), total=len(futures),
                             description=f"{what}: {len(futures)} shard(s) on the pool"):
                i = futures[fut]
                try:
                    out[i] = fut.result()
                except BrokenProcessPool as exc:
                    broken = True
                    attempts[i] += pool not in self._stopped  # a cell's time limit: not its
                    if attempts[i] >= SHARD_ATTEMPTS:
                        a, b, piece = pieces[i]
                        raise FeaturizationError(
                            f"{piece.who}: shard of samples {a}-{b - 1} lost its pool worker "
                            f"{attempts[i]} times ({exc})") from exc
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        if broken and pool is self._pool:
            self._discard_pool()
            self.restarts += 1
        return out

    def _completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        """``futures`` as they complete; in between (every :data:`POLL_S`), the cells running
        beside them are collected and held to their time limits (``run``'s ``_between``)."""
        from concurrent.futures import FIRST_COMPLETED, wait

        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            yield from done
            if self._between is not None:
                self._between()

    def prepare(self) -> None:
        """Start the worker processes (``n_jobs > 1``) without waiting for them: they import
        the plugins while the run loads its data (the runner calls this only when there are
        cells to run)."""
        if self.n_jobs > 1:
            self._start_pool(wait_for_workers=False)

    def _start_pool(self, wait_for_workers: bool = True) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, wait

        if self._pool is None:  # kept across the run's splits; close() shuts it down
            ctx = multiprocessing.get_context("spawn")
            if self._starts is None:
                self._starts = ctx.Queue()
            self._pool = ProcessPoolExecutor(self.n_jobs, mp_context=ctx,
                                             initializer=_start_worker,
                                             initargs=(self._starts, os.getpid()))
            # start every worker now, in parallel (the pool spawns lazily, one per submit)
            self._booted = [self._pool.submit(os.getpid) for _ in range(self.n_jobs)]
        if wait_for_workers:
            wait(self._booted)
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
        running: dict[Future[Any], tuple[CellTask, list[str], int, Any]] = {}
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
                                  ytest_key], token, pool

        def watch() -> None:
            """Note the cells that started; kill a worker whose cell is past its limit."""
            while True:
                try:
                    token, pid, at = self._starts.get_nowait()
                except Exception:  # queue.Empty
                    break
                started[token] = (pid, at)
                task = next((t for t, _, k, _ in running.values() if k == token), None)
                if task is not None and on_start is not None:
                    on_start(task, f"worker pid {pid}")
            now = time.time()
            for task, _, token, pool in list(running.values()):
                if token in started and token not in killed and task.timeout and (
                        now - started[token][1] > task.timeout + GRACE_S):
                    killed.add(token)
                    self._stopped.add(pool)  # its shards in flight are not at fault
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
                task, keys, token, pool = running.pop(fut)
                for key in keys:
                    self.shared.release(key)
                try:
                    outcome = fut.result()
                except BrokenProcessPool as exc:
                    broken = broken or pool is self._pool  # else already replaced (featurizing)
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
            while submit_later:  # on a fresh pool
                submit(submit_later.pop(0))

        submit_later: list[CellTask] = []
        self._between = lambda: collect(block=False)  # also while the tasks featurize
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
        finally:
            self._between = None

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
