"""The ``dask`` executor: cells on a ``dask.distributed`` cluster.

With ``address`` it connects to a running scheduler (``dask scheduler`` + ``dask worker``);
without, it starts a ``LocalCluster`` for the run. Each distinct feature matrix (and each split's
labels) is scattered once and every cell of that featurization references it; cells are
submitted as they are planned and recorded, in this process, as each finishes
(``as_completed``). A worker that dies mid-cell makes the scheduler run the cell elsewhere
(up to its ``allowed-failures``), after which it is recorded as failed (``KilledWorker``);
a cell that raises is retried ``retries`` times. Ctrl-C cancels what is left and closes the
client (and the cluster it started); finished cells stay recorded.

With ``featurize = "workers"`` featurizers run on the cluster too (on a worker offering
``resources``, e.g. ``{ GPU = 1 }``), and their matrices come back to this process's cache.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from typing import Any, Literal

from mmbench.errors import MmbenchError, UserError
from mmbench.executor_api import (THREAD_VARS, CellTask, CellTimeout, FeaturizationError,
                                  FeaturizeJob, OnDone, OnStart, array_keys, run_job, run_remote,
                                  run_shard_job, shard_jobs, shardable, skeleton)

#: the topic on which workers say which cell they start (``Worker.log_event``)
START_TOPIC = "mmbench-cell-start"
#: how often the client checks for started cells and time limits while it waits
POLL_S = 0.2


def run_cell(task: CellTask, train: Any, y_train: Any, test: Any, y_test: Any,
             threads: int = 1) -> Any:
    """On a worker: say that the cell starts (with this worker's address), then run it."""
    from mmbench.executor_api import get_catalog

    get_catalog()  # plugins loaded before the clock starts (a fresh worker imports them)
    try:
        from distributed import get_worker

        worker = get_worker()
        worker.log_event(START_TOPIC, {"cell": task.cell.cell_id, "address": worker.address})
    except ValueError:  # not on a worker (tests calling it directly)
        pass
    return run_remote(task, train, y_train, test, y_test, threads)


class DaskExecutor:
    """Runs cells on a Dask cluster: ``address`` of a running scheduler, or a LocalCluster.

    Set in a suite's ``executor`` table or by ``mmbench run --executor dask [--address A]``; see
    docs/scale-out.md.

    :param address: the scheduler, e.g. ``"tcp://host:8786"``; not set: a LocalCluster of
        ``n_workers`` workers is started for the run.
    :param retries: times a failing cell is retried (for transient errors) before it is
        recorded as failed.
    :param n_workers: workers of the LocalCluster (without ``address`` only).
    :param threads_per_cell: threads each cell may use on its worker (handed to plugins that
        take ``n_jobs``).
    :param timeout: seconds to wait for the scheduler when connecting.
    :param featurize: where featurizations run: ``"client"`` (this process) or ``"workers"``
        (on the cluster, e.g. on a GPU worker).
    :param resources: worker resources the featurization tasks need, e.g. ``{ GPU = 1 }``.
    :param profiler: keep Dask's statistical profiler and tick monitor running on the workers
        (false: both are stopped, which makes each cell a few percent faster).
    :param shard_size: with ``featurize = "workers"``: a featurization of more samples than
        this, by a featurizer that does not learn from data, is split into shards of this many
        consecutive samples, featurized in parallel.
    """

    name = "dask"
    remote = True

    def __init__(self, *, address: str | None = None, retries: int = 1, n_workers: int = 2,
                 threads_per_cell: int = 1, timeout: float = 30.0,
                 featurize: Literal["client", "workers"] = "client",
                 resources: dict[str, float] | None = None, profiler: bool = False,
                 shard_size: int = 2048) -> None:
        for label, value, low in (("retries", retries, 0), ("n_workers", n_workers, 1),
                                  ("threads_per_cell", threads_per_cell, 1),
                                  ("shard_size", shard_size, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{label} must be an integer >= {low}, got {value!r}")
        if address is not None and (not isinstance(address, str) or "://" not in address):
            raise ValueError(f"address must look like tcp://host:8786, got {address!r}")
        if featurize not in ("client", "workers"):
            raise ValueError(f"featurize must be 'client' or 'workers', got {featurize!r}")
        if resources is not None and not (isinstance(resources, dict) and all(
                isinstance(k, str) and isinstance(v, int | float) and v > 0
                for k, v in resources.items())):
            raise ValueError(f"resources must map names to amounts, like {{ GPU = 1 }}, got "
                             f"{resources!r}")
        if not isinstance(profiler, bool):
            raise ValueError(f"profiler must be true or false, got {profiler!r}")
        self.profiler = profiler
        self.featurize = featurize
        self.resources = dict(resources or {})
        self.address = address
        self.retries = retries
        self.n_workers = n_workers
        self.threads_per_cell = threads_per_cell
        self.timeout = float(timeout)
        self._client: Any = None
        self._cluster: Any = None
        self.shipped = 0  # arrays scattered to the cluster so far (once per featurization)
        self.shard_size = shard_size
        self.shards = 0  # featurization shards computed on the workers so far

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        import dask
        from distributed import Client, LocalCluster

        if self.address:
            try:
                self._client = Client(self.address, timeout=self.timeout)
            except (OSError, TimeoutError) as exc:
                raise UserError(
                    f"cannot reach the Dask scheduler at {self.address} ({exc}); start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS` (docs/scale-out.md)"
                ) from exc
            return self._client
        pinned = {var: str(self.threads_per_cell) for var in THREAD_VARS}
        with dask.config.set({"distributed.scheduler.allowed-failures": self.retries,
                              "distributed.nanny.pre-spawn-environ": pinned}):
            self._cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1,
                                         processes=True, dashboard_address=None,
                                         silence_logs=logging.ERROR,
                                         resources=self.resources or None)
        self._client = Client(self._cluster, timeout=self.timeout)
        return self._client

    @property
    def featurizes(self) -> bool:
        """Whether featurizers run on the workers (``featurize = "workers"``)."""
        return self.featurize == "workers"

    def prepare(self) -> None:
        """Connect before the run starts, check that featurization can be placed, and (unless
        ``profiler``) stop Dask's statistical profiler on the workers."""
        client = self._connect()
        if self.featurizes:
            self._require_resources(client)
        if not self.profiler:
            from .profiler import NoProfiler

            client.register_plugin(NoProfiler(), name="mmbench-no-profiler")

    def run_featurize(self, job: FeaturizeJob) -> list[Any]:
        """Compute a featurization on a worker offering ``resources`` (say a GPU: start it
        with ``dask worker ADDRESS --resources GPU=1``); its matrices come back here. A
        featurizer that does not learn from data is split into shards of ``shard_size``
        samples spread over the workers (:meth:`_sharded`)."""
        if shardable(job, self.shard_size):
            return [self._sharded(job)]
        client = self._connect()
        [data] = client.scatter([job], hash=False)
        fut = client.submit(run_job, data, resources=self.resources or None, pure=False,
                            retries=self.retries,
                            key=f"mmbench-featurize-{job.variant.name}-{uuid.uuid4().hex[:8]}")
        try:
            return fut.result()
        except MmbenchError:
            raise
        except Exception as exc:  # a killed worker, a lost connection
            raise FeaturizationError(
                f"{job.who} failed on the cluster: {type(exc).__name__}: {exc}") from exc
        finally:
            fut.release()
            data.release()

    def _sharded(self, job: FeaturizeJob) -> Any:
        """The matrix of ``job`` computed in shards on the workers (each keeps its model for
        its next shard); a worker that dies loses only its shards, which the scheduler runs
        again elsewhere. Rows are assembled here in sample order."""
        import numpy as np

        client = self._connect()
        tag = f"mmbench-shard-{job.variant.name}-{uuid.uuid4().hex[:8]}"
        futures = [client.submit(run_shard, shard, a, b, resources=self.resources or None,
                                 pure=False, retries=self.retries, key=f"{tag}-{a}")
                   for a, b, shard in shard_jobs(job, self.shard_size)]
        try:
            parts = client.gather(futures)
        except MmbenchError:
            raise
        except Exception as exc:  # a shard lost more often than allowed-failures
            raise FeaturizationError(
                f"{job.who}: a shard failed on the cluster: {type(exc).__name__}: "
                f"{exc}") from exc
        finally:
            for fut in futures:
                fut.release()
        self.shards += len(futures)
        return np.concatenate(parts, axis=0)

    def _require_resources(self, client: Any) -> None:
        if not self.resources:
            return
        workers = client.scheduler_info()["workers"].values()
        if not any(all(w.get("resources", {}).get(k, 0) >= v for k, v in self.resources.items())
                   for w in workers):
            wanted = " ".join(f"{k}={v:g}" for k, v in self.resources.items())
            raise UserError(
                f"no worker of the Dask cluster offers resources {wanted}, so featurization "
                f"could never start; start one with `dask worker ADDRESS --resources "
                f"\"{wanted}\"` or drop 'resources' from the executor options")

    def close(self) -> None:
        """Close the client, and the LocalCluster if this executor started one."""
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close(timeout=self.timeout)
        if cluster is not None:
            cluster.close(timeout=self.timeout)

    def run(self, tasks: Iterable[CellTask], on_done: OnDone,
            on_start: OnStart | None = None) -> None:
        """Submit each task as it comes; record each as it finishes. A cell past its
        ``timeout`` is released and the worker running it restarted (through its nanny: the
        hung thread goes with the process); it is recorded as :class:`CellTimeout`."""
        from distributed import as_completed

        client = self._connect()
        run = uuid.uuid4().hex[:8]
        shipped: dict[str, Any] = {}
        running: dict[Any, CellTask] = {}
        finished = as_completed()
        starts: list[tuple[str, str, float]] = []  # (cell id, worker address, time seen)
        lock = threading.Lock()
        began: dict[str, tuple[str, float]] = {}

        def heard(event: Any) -> None:  # on the client's event loop thread
            msg = event[1] if isinstance(event, tuple) else event
            with lock:
                starts.append((msg["cell"], msg["address"], time.time()))

        client.subscribe_topic(START_TOPIC, heard)

        resent: dict[str, int] = {}

        def ship(key: str, value: Any) -> Any:
            if key not in shipped:  # once per featurization (or split), not once per cell;
                # on every worker, so losing one loses no data
                name = f"mmbench-data-{key}-{run}-{resent.get(key, 0)}"
                shipped[key] = client.scatter({name: value}, hash=False, broadcast=True)[name]
                self.shipped += 1
            return shipped[key]

        def submit(task: CellTask) -> None:
            train_keys, test_keys, ytrain_key, ytest_key = array_keys(task)
            train = {m: ship(k, task.train[m]) for m, k in train_keys.items()}
            test = {m: ship(k, task.test[m]) for m, k in test_keys.items()}
            fut = client.submit(
                run_cell, skeleton(task), train, ship(ytrain_key, task.y_train),
                test, ship(ytest_key, task.y_test), self.threads_per_cell,
                key=f"mmbench-cell-{task.cell.cell_id}-{run}-{resent.get(task.cell.cell_id, 0)}",
                retries=self.retries, pure=False)
            running[fut] = task
            finished.add(fut)

        def handle(fut: Any) -> None:
            if fut not in running:  # released for its time limit, recorded already
                fut.release()
                return
            task = running.pop(fut)
            cid = task.cell.cell_id
            if fut.status == "cancelled" and resent.get(cid, 0) < self.retries + 1:
                # its scattered inputs were lost with the workers holding them: send again
                resent[cid] = resent.get(cid, 0) + 1
                for key in [k for k, f in shipped.items() if f.status != "finished"]:
                    resent[key] = resent.get(key, 0) + 1
                    del shipped[key]
                fut.release()
                submit(task)
                return
            outcome = fut.result() if fut.status == "finished" else _failure(fut)
            fut.release()
            on_done(task, outcome)

        def watch() -> None:
            with lock:
                heard_now, starts[:] = list(starts), []
            by_cell = {t.cell.cell_id: (f, t) for f, t in running.items()}
            for cid, address, at in heard_now:
                began[cid] = (address, at)
                if cid in by_cell and on_start is not None:
                    on_start(by_cell[cid][1], address)
            now = time.time()
            for fut, task in list(running.items()):
                cid = task.cell.cell_id
                if task.timeout and cid in began and now - began[cid][1] > task.timeout:
                    del running[fut]
                    fut.cancel()
                    self._restart(client, began.pop(cid)[0])
                    on_done(task, CellTimeout(task.timeout))

        def drain(block: bool) -> None:
            batch = finished.next_batch(block=False)  # record as they finish
            for done in batch:
                handle(done)
            watch()
            if block and not batch:
                time.sleep(POLL_S)

        try:
            for task in tasks:
                submit(task)
                drain(block=False)
            while running:
                drain(block=True)
        except BaseException:
            if running:
                client.cancel(list(running), force=True)
            raise
        finally:
            client.unsubscribe_topic(START_TOPIC)
            for fut in shipped.values():
                fut.release()

    def _restart(self, client: Any, address: str) -> None:
        """Restart the worker at ``address`` (a cell there ran past its limit)."""
        try:
            client.restart_workers([address], timeout=self.timeout, raise_for_error=False)
        except Exception as exc:  # a worker without a nanny cannot be restarted
            logging.getLogger("mmbench").warning(
                "could not restart Dask worker %s after a cell timed out (%s): the hung cell "
                "keeps that worker busy; start workers with a nanny (the default)", address, exc)


def run_shard(job: FeaturizeJob, start: int, stop: int) -> Any:
    """On a worker: one shard's matrix; a failure names this worker."""
    try:
        from distributed import get_worker

        where = f"worker {get_worker().address}"
    except ValueError:
        where = "this process"
    return run_shard_job(job, start, stop, where)


def _failure(fut: Any) -> BaseException:
    """The exception of a failed (or cancelled) future, with its remote traceback attached."""
    if fut.status == "cancelled":
        return RuntimeError(f"cell task {fut.key} was cancelled on the cluster")
    exc = fut.exception()
    tb = fut.traceback()
    exc.__mmbench_traceback__ = "".join(traceback.format_tb(tb)) if tb else None
    return exc
