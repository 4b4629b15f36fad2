"""Choosing an executor, and what executors share: the function that runs a cell in another
process (a pool worker, a Dask worker) and the check that every plugin a cell needs can be
loaded there.

Executors are plugins (kind ``executor``, see ``plugins/mmbench_executors``): a class with
``run(tasks, on_done)``. Options come from the suite's ``[executor]`` table, overridden by the
command line; an executor whose ``__init__`` accepts ``catalog`` gets the run's catalog.
An executor with a true ``remote`` attribute runs cells in processes that load plugins from
entry points; a cell whose fusion or classifier was registered only in this process (e.g. by
``mmbench.testing.registered``) cannot run there, and :func:`require_installed` says so.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import socket
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .errors import MmbenchError, UserError
from .paramcheck import type_problems
from .plan import Cell
from .registry import build

DEFAULT_EXECUTOR = "local"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class PluginNotInstalledError(MmbenchError):
    """A worker process cannot load a plugin that a cell needs."""


def make_executor(catalog: Any, spec: Any = None, name: str | None = None,
                  overrides: Mapping[str, Any] | None = None) -> Any:
    """Build the executor named by ``name`` (the CLI) or ``spec`` (the suite's ``[executor]``
    table), else ``local``. Suite options apply when the names agree; ``overrides`` (CLI
    options that were given) win."""
    suite_name = spec.name if spec is not None else None
    name = name or suite_name or DEFAULT_EXECUTOR
    options = dict(spec.options) if spec is not None and spec.name == name else {}
    options.update({k: v for k, v in (overrides or {}).items() if v is not None})
    entry = catalog["executor"].get(name)
    accepted = entry.params
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        valid = ", ".join(n for n in accepted if n != "catalog") or "none"
        raise UserError(f"invalid option(s) {unknown} for executor {name!r}; valid: {valid}")
    typed = type_problems(entry.cls, options)
    if typed:
        raise UserError(f"executor {name!r}: " + "; ".join(problem for _, problem in typed))
    if "catalog" in accepted:
        options["catalog"] = catalog
    return build(entry, options)


def entry_point_plugins() -> set[str]:
    """Names of the plugins any process can load (the ``mmbench`` entry points)."""
    return {ep.name for ep in md.entry_points(group="mmbench")}


def require_installed(cells: Iterable[Cell], catalog: Any, executor: str,
                      featurizers: bool = False) -> None:
    """Raise :class:`UserError` if a cell's fusion or classifier (and its featurizers, when
    they run on workers too) comes from a plugin that was registered in this process only, so
    worker processes could not load it. Local plugin files (:mod:`mmbench.localplugins`) load in
    the ``local`` executor's workers, which run on this machine."""
    installed = set(entry_point_plugins())
    if executor == "local":
        installed |= set(getattr(catalog, "files", {}))
    local: dict[str, str] = {}
    for cell in cells:
        feats = [f for _, f in cell.featurizers] if featurizers else []
        for variant in (cell.fusion, cell.classifier, *feats):
            entry = catalog[variant.kind].get(variant.name)
            if entry.plugin not in installed:
                local[f"{variant.kind} {variant.name!r}"] = entry.plugin
    if local:
        names = "; ".join(f"{what} (plugin {plugin!r})" for what, plugin in local.items())
        raise UserError(
            f"executor {executor!r} runs cells in other processes, which load plugins from "
            f"installed entry points, but {names} exists only in this process (registered at "
            "run time, not installed); install it as a distribution with an 'mmbench' entry "
            "point on every worker, or run with the local executor and n_jobs = 1")


def pin_threads(n: int = 1) -> None:
    """Limit BLAS/OpenMP threads in this process (pool and worker initializers)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)


def skeleton(task: Any) -> Any:
    """``task`` without its arrays (they travel separately to :func:`run_remote`)."""
    import dataclasses

    empty = np.empty(0)
    return dataclasses.replace(task, train={}, test={}, y_train=empty, y_test=empty,
                               test_index=empty)


def array_keys(task: Any) -> tuple[dict[str, str], dict[str, str], str, str]:
    """Names of a task's (train views, test views, y_train, y_test): cells sharing a
    featurization and split share them, so each array is sent to workers once."""
    keys = task.feature_keys or {m: f"{id(x)}" for m, x in task.train.items()}
    split = task.split_key or str(id(task.y_train))
    return ({m: f"{k}-train" for m, k in keys.items()}, {m: f"{k}-test" for m, k in keys.items()},
            f"{split}-ytrain", f"{split}-ytest")


def run_remote(task: Any, train: Mapping[str, np.ndarray], y_train: np.ndarray,
               test: Mapping[str, np.ndarray], y_test: np.ndarray, threads: int = 1) -> Any:
    """Evaluate one cell in a worker process: ``task`` is a :class:`~mmbench.runner.CellTask`
    whose arrays travel separately (so each feature matrix is sent once, not once per cell)."""
    from threadpoolctl import threadpool_limits

    from .cell import evaluate_cell
    from .plugins import get_catalog

    catalog = get_catalog()
    cell = task.cell
    missing = [f"{v.kind} {v.name!r}" for v in (cell.fusion, cell.classifier)
               if v.name not in catalog[v.kind]]
    if missing:
        raise PluginNotInstalledError(
            f"{' and '.join(missing)} not installed on worker {socket.gethostname()} "
            f"(python {sys.executable}); install mmbench and the same plugin distributions "
            "on every worker")
    with threadpool_limits(limits=threads):
        return evaluate_cell(cell, dict(train), y_train, dict(test), y_test, task.n_classes,
                             catalog, task.device, getattr(task, "robust", None),
                             getattr(task, "class_names", ()), threads=threads,
                             groups=getattr(task, "groups_train", None))
