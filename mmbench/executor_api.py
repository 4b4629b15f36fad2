"""The contract executor plugins are written against (``plugins/mmbench_executors`` and any
third-party executor): import from here, never from the runner's modules, which may change.

An executor is a class with ``run(tasks, on_done)``:

- ``tasks`` is an iterable of :class:`CellTask` (produced lazily: featurization of the next
  split happens while the executor pulls tasks), each carrying its arrays and an optional
  ``timeout`` in seconds;
- for each task the executor evaluates the cell (:func:`run_task` in this process,
  :func:`run_remote` in another, with the arrays shipped separately: :func:`skeleton` and
  :func:`array_keys` say what to ship once per featurization) and calls
  ``on_done(task, outcome)`` in the calling process, ``outcome`` being the
  :class:`CellOutcome` or the exception raised (a :class:`CellTimeout` when ``task.timeout``
  ran out);
- optionally ``run(tasks, on_done, on_start=...)``: the executor calls ``on_start(task,
  where)`` when a cell actually starts (``where`` names the worker), so the progress display
  shows what is running and for how long.

Optional attributes and methods: ``remote`` (cells run where only installed plugins exist),
``prepare()``, ``close()``, ``featurizes`` with ``run_featurize(job)`` (:class:`FeaturizeJob`,
evaluated with :func:`run_job`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .cell import CellOutcome
from .executors import (THREAD_VARS, PluginNotInstalledError, array_keys, pin_threads,
                        run_remote, skeleton)
from .featurize import FeaturizationError, FeaturizeJob, run_job, shard_jobs, shardable
from .featurize import run_shard as run_shard_job
from .plugins import get_catalog
from .tasks import CellTask, OnDone, OnStart, SerialExecutor, run_task
from .timeouts import CellTimeout, alarm



@runtime_checkable
class Executor(Protocol):
    """What the runner calls (see the module docstring for the optional parts)."""

    def run(self, tasks: Iterable[CellTask], on_done: OnDone) -> None: ...


def describe_task(task: CellTask) -> str:
    """A short name of a task's cell for progress lines and errors."""
    from .runner import describe

    return describe(task.cell)


__all__ = ["THREAD_VARS", "CellOutcome", "CellTask", "CellTimeout", "Executor",
           "FeaturizationError", "FeaturizeJob", "OnDone", "OnStart", "PluginNotInstalledError",
           "SerialExecutor", "alarm", "array_keys", "describe_task", "get_catalog", "pin_threads", "run_job",
           "run_remote", "run_shard_job", "run_task", "shard_jobs", "shardable", "skeleton"]
