"""Run a suite: plan, load data, featurize once, evaluate cells, record each as it finishes."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import suppress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from .breakdown import Breakdown
from .cache import FeatureCache
from .cell_record import base_record, describe, variant_notes  # noqa: F401
from .cell import CellOutcome
from .dataset_load import inner_problem_line, load_dataset
from .errors import DiskFullError, MmbenchError, UserError
from .failures import where
from .featurize import FeatureProvider, index_digest
from .inputs import cell_inputs, changes, recorded_inputs
from .lock import FileLock
from .ordering import LongestFirst
from .paths import cache_dir
from .plan_size import announce
from .plan import Cell, Plan, Variant, plan_suite, short_hash
from .plugins import Catalog, get_catalog
from .progress import Reporter
from .protocols import MultimodalData
from .results import ResultStore, git_sha, machine
from .run_info import resolve_device, run_manifest
from .robustness import Corrupter
from .seed_sharing import WHY as SHARED_WHY, SeedSharing
from .splits import imbalance_train
from .suite import load_suite
from .writable import require_writable_dir
from .tasks import (CellFailed, CellsNotRecorded, CellTask, OnDone, RunSummary,  # noqa: F401
                    SerialExecutor, dispatch, run_task)

#: The lock file a run holds in its results folder (see :mod:`.lock`).
LOCK_FILE = "run.lock"


class Runner:
    """One run of one suite."""

    def __init__(self, plan: Plan, catalog: Catalog, console: Console, *,
                 rerun: bool = False, fail_fast: bool = False, executor: Any = None,
                 live: bool | None = None, wait: bool = False,
                 rerun_failed: bool = False, cell_timeout: float | None = None,
                 size_line: str | None = None) -> None:
        self.plan = plan
        self.size_line = size_line  # "plan: N cells...", printed once the folder is held
        self.suite = plan.suite
        self.cell_timeout = cell_timeout or self.suite.cell_timeout
        self.catalog = catalog
        self.console = console
        self.rerun = rerun
        self.rerun_failed = rerun_failed  # else a cell recorded as failed is not retried
        self.fail_fast = fail_fast
        self.executor = executor or SerialExecutor(catalog)
        self.live = live
        self.wait = wait
        self.store = ResultStore(Path(self.suite.results_dir) / self.suite.name)
        root = Path(self.suite.cache_dir) if self.suite.cache_dir else cache_dir()
        self.device = resolve_device(self.suite.device) if self._needs_device() else "cpu"
        remote = getattr(self.executor, "featurizes", False)  # workers resolve "auto" there
        self.cost = Breakdown()  # where the time goes (mmbench.breakdown)
        self.longest_first = LongestFirst()  # the order of a split's cells (mmbench.ordering)
        self.features = FeatureProvider(
            FeatureCache(root / "features"), catalog,
            {"device": self.suite.device if remote else self.device},
            remote=self.executor.run_featurize if remote else None, cost=self.cost)
        self.summary = RunSummary(self.store.root, planned=len(plan.cells))
        sweeps = self.suite.robustness.sweeps() if self.suite.robustness else {}
        self.corrupter = Corrupter(self.features, sweeps) if sweeps else None
        self.sharing = SeedSharing(catalog, self.corrupter is not None, self._on_done)
        self.sha = git_sha()
        self.host = machine()
        self._data: dict[Variant, MultimodalData] = {}
        #: dataset -> (split, seed, fold) -> (train, test), computed and checked at load
        self._splits: dict[Variant, dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]]] = {}
        self._manifest_written = False  # written before the run's first record (see _write)
        self._prepared = False  # the executor's prepare() was called
        self._audits: dict[str, dict[str, Any]] = {}  # written with the manifest
        self._logged: set[str] = set()  # problems of cells not recorded, logged once each

    def _needs_device(self) -> bool:
        """Whether any planned plugin takes a ``device`` (resolving ``auto`` imports torch)."""
        variants = {v for c in self.plan.cells
                    for v in (c.fusion, c.classifier, *(f for _, f in c.featurizers))}
        return any("device" in self.catalog[v.kind].get(v.name).params for v in variants)

    def lock(self) -> FileLock:
        """The results folder's lock (``results/<suite>/run.lock``): one writing run at a time."""
        return FileLock(self.store.root / LOCK_FILE, what=str(self.store.root),
                        command=f"mmbench run {self.plan.loaded.path}",
                        advice="wait for it (mmbench run --wait) or use another results_dir")

    def run(self) -> RunSummary:
        """Run the cells not yet recorded, holding the results folder's lock throughout; a
        second run on the same folder refuses (:class:`~.lock.LockedError`) or, with
        ``wait``, waits. A folder of files mmbench did not write is refused first; leftovers
        of an interrupted run are cleaned up."""
        self.store.claim()
        lock = self.lock()
        lock.acquire(self.wait, notify=lambda m: self.console.print(escape(m), highlight=False))
        try:
            self.store.mark()
            if self.size_line:
                self.console.print(self.size_line, highlight=False, markup=False)
            for note in lock.notes:
                self.console.print(f"note: {escape(note)}", highlight=False)
            removed = self.store.clean()
            if removed:
                self.console.print(f"note: removed {len(removed)} leftover file(s) of an "
                                   "interrupted run (temp files, predictions without a record)",
                                   highlight=False)
            return self._run()
        finally:
            lock.release()

    def _run(self) -> RunSummary:
        start = time.perf_counter()
        recorded = self.store.kept(failed=not self.rerun_failed)
        if self.rerun or any(c.cell_id not in recorded for c in self.plan.cells):
            self._prepare()  # connect and check the cluster before anything
        with Reporter(self.console, self.live) as reporter:
            self.reporter = reporter
            try:  # one stream of tasks for the whole run: executors overlap splits
                by_dataset, unloadable = self._pending(recorded)
                if by_dataset or unloadable:
                    self._prepare()
                self.cells_task = reporter.add_task(
                    "cells", sum(map(len, by_dataset.values())) + len(unloadable))
                for cell, exc in unloadable:  # its dataset did not load; other datasets run
                    self._not_recorded(cell, exc)
                if by_dataset:  # (else nothing to start: every cell is recorded)
                    dispatch(self.executor, self._all_tasks(by_dataset), self._on_done,
                             reporter, lambda task: describe(task.cell), self.cell_timeout)
            finally:  # the executor's workers (pool, cluster) were started by _prepare
                close = getattr(self.executor, "close", None)
                if close is not None:
                    close()
        self.summary.features_computed = self.features.computed
        self.summary.shared = self.sharing.shared
        self.summary.seconds = time.perf_counter() - start
        self.summary.cost = self.cost.as_dict()
        if self.summary.not_recorded:
            raise CellsNotRecorded(self.summary)
        self._write_manifest()  # also when every cell was already recorded
        if self.summary.ran or self.summary.failed:  # the manifest names this run's cost
            self.store.write_manifest({**self._manifest, "cost": self.summary.cost})
        if self.summary.ran:
            self._diagnose()
        return self.summary

    def _diagnose(self) -> None:
        """Store the redundancy/complementarity diagnostic (``complementarity.json``)."""
        from .complementarity import store as store_complementarity

        # UserError: no usable record (every cell failed), nothing to diagnose
        with self.cost.timed("complementarity diagnostic"), suppress(UserError):
            store_complementarity(self.store.root)

    def _prepare(self) -> None:
        """Before any work: the feature cache must be writable, the executor ready."""
        require_writable_dir(self.features.cache.root, "feature cache", "set MMBENCH_CACHE_DIR "
                             "(or the suite's cache_dir) to a folder you can write")
        prepare = getattr(self.executor, "prepare", None)
        if prepare is not None and not self._prepared:
            prepare()
        self._prepared = True

    def _pending(self, recorded: dict[str, dict[str, Any]]) -> tuple[
            dict[Variant, list[Cell]], list[tuple[Cell, UserError]]]:
        """Load each dataset and sort its cells (see :mod:`.inputs`): recorded from the same
        inputs (skipped, unless ``rerun``), recorded from other ones (their records set aside,
        run again), or not recorded. Returns the cells to run by dataset, and those whose
        dataset did not load, with its error."""
        by_dataset: dict[Variant, list[Cell]] = defaultdict(list)
        for cell in self.plan.cells:
            by_dataset[cell.dataset].append(cell)
        todo: dict[Variant, list[Cell]] = {}
        unloadable: list[tuple[Cell, UserError]] = []
        stale: list[str] = []
        for variant, cells in by_dataset.items():
            error: UserError | None = None
            try:
                self._data[variant] = self._load(variant, cells)
            except UserError as exc:
                error = exc
            data = self._data.get(variant)
            if data is not None:  # before any work: every tuned cell's inner split exists
                inner_problem_line(cells, data, self._splits[variant], self.suite,
                                   self.plan.loaded)
            run = []
            for cell in cells:
                record = recorded.get(cell.cell_id)
                changed = [] if record is None else changes(
                    cell_inputs(cell, self.catalog, data.fingerprint if data else None),
                    recorded_inputs(record))
                if changed:
                    stale += changed
                    self.store.set_aside(record)  # type: ignore[arg-type]
                    self.summary.stale += 1
                elif record is not None and not self.rerun:
                    self.summary.skipped += 1
                    self.summary.kept_failed += record["status"] == "failed"
                    continue
                run.append(cell)
            if error is None and run:
                todo[variant] = run
            elif error is not None:
                unloadable += [(cell, error) for cell in run]
                if not run:
                    self.reporter.log(f"note: dataset {escape(variant.label)} did not load, so "
                                      f"its recorded cells could not be checked against its "
                                      f"data: {escape(str(error))}")
        if stale:
            what = list(dict.fromkeys(stale))
            self.reporter.log(escape(
                f"note: {self.summary.stale} recorded cell(s) were computed from other inputs "
                f"({'; '.join(what[:3])}{'; ...' if what[3:] else ''}): they run again; their "
                f"old records are kept in {self.store.root / 'superseded'}"))
        return todo, unloadable

    def _write_manifest(self) -> None:
        """The run's provenance, once per run, before its first record: a run stopped by bad
        input before it records anything leaves the results folder as it was."""
        from .audit import store_audit

        for label in list(self._audits):  # the audits of the data this run loaded
            store_audit(self.store.root, label, self._audits.pop(label))
        if not self._manifest_written:
            self._manifest = run_manifest(self.plan, self.catalog, self.sha, self.host,
                                          self.device)
            self.store.write_manifest(self._manifest)
            self._manifest_written = True

    def _write(self, record: dict[str, Any], **arrays: Any) -> None:
        self._write_manifest()
        with self.cost.timed("writing records"):
            self.store.write(record, **arrays)

    def _not_recorded(self, cell: Cell, exc: UserError) -> None:
        """A cell met by bad input: logged, counted, not recorded (so a later run retries it)."""
        if isinstance(exc, DiskFullError) or self.fail_fast:
            raise exc
        message = str(exc)
        if message not in self._logged:
            self._logged.add(message)
            self.reporter.log(f"[red]NOT RECORDED[/] {escape(describe(cell))} (and any other "
                              f"cell with this problem): {escape(message)}")
        self.summary.not_recorded.append((cell, message))
        self.reporter.advance(self.cells_task)

    def _load(self, variant: Variant, cells: list[Cell]) -> MultimodalData:
        data, self._splits[variant], audit = load_dataset(
            variant, cells, self.catalog, self.reporter, self.cost, self.store.root)
        if audit is not None:  # written with the manifest (before the run's first record)
            self._audits[variant.label] = audit
        return data

    def _all_tasks(self, by_dataset: dict[Variant, list[Cell]]) -> Iterable[CellTask]:
        """Tasks of every dataset and split, featurizing as they are asked for (so a
        parallel executor runs one split's cells while the next is prepared)."""
        for variant, cells in by_dataset.items():
            data = self._data[variant]
            by_split: dict[tuple[Any, ...], list[Cell]] = defaultdict(list)
            for cell in cells:
                by_split[(cell.split, cell.seed, cell.fold)].append(cell)
            for (split, seed, fold), group in by_split.items():
                train, test = self._splits[variant][(split, seed, fold)]
                if self.suite.imbalance is not None:
                    train = imbalance_train(train, data.y, self.suite.imbalance.ratio, seed)
                yield from (t for t in self._tasks(self.longest_first.order(group), data,
                                                   train, test, len(data.class_names))
                            if not self.sharing.follows(t))  # else another seed computes it

    def _on_done(self, task: CellTask, outcome: CellOutcome | BaseException,
                 same_as: CellTask | None = None) -> None:
        self._record(task, outcome, self._data[task.cell.dataset], same_as)
        if same_as is None:
            self.sharing.done(task, outcome)  # record the seeds that share this computation

    def _tasks(self, cells: list[Cell], data: MultimodalData, train: np.ndarray,
               test: np.ndarray, n_classes: int) -> Iterable[CellTask]:
        failures: dict[Variant, BaseException] = {}
        split_key = short_hash([data.fingerprint, index_digest(train, test)])
        for cell in cells:
            views_tr: dict[str, np.ndarray] = {}
            views_te: dict[str, np.ndarray] = {}
            error: BaseException | None = None
            for modality, fvariant in cell.featurizers:
                if fvariant not in failures:
                    try:
                        views_tr[modality], views_te[modality] = self.features.features(
                            fvariant, data, train, test)
                        continue
                    except MmbenchError as exc:
                        if isinstance(exc, DiskFullError):
                            raise
                        failures[fvariant] = exc
                        if not isinstance(exc, UserError):  # those are logged as not recorded
                            self.reporter.log(f"[red]featurization failed:[/] "
                                              f"{escape(str(exc))}")
                error = failures[fvariant]
                break
            task = CellTask(cell, views_tr, data.y[train], views_te, data.y[test], test,
                            n_classes, self.device, split_key=split_key, feature_keys={
                                m: short_hash([split_key, m, f.as_dict()])
                                for m, f in cell.featurizers},
                            class_names=tuple(data.class_names),
                            groups_train=None if data.groups is None else data.groups[train],
                            timeout=self.cell_timeout)
            if error is None and self.corrupter is not None:
                try:
                    task.robust = self.corrupter.views(cell, data, train, test, views_te)
                except MmbenchError as exc:
                    error = exc
            if error is not None:
                self._record(task, error, data)
                continue
            yield task

    def _record(self, task: CellTask, outcome: CellOutcome | BaseException,
                data: MultimodalData, same_as: CellTask | None = None) -> None:
        cell = task.cell
        if isinstance(outcome, UserError):
            self._not_recorded(cell, outcome)
            return
        record = base_record(cell, task, data, self.catalog, self.suite.name,
                             self.plan.loaded.sha256, self.device, self.sha, self.host["host"])
        if same_as is not None:
            record["same_as"] = {"cell_id": same_as.cell.cell_id, "seed": same_as.cell.seed,
                                 "why": SHARED_WHY}
        if isinstance(outcome, BaseException):
            message = f"{type(outcome).__name__}: {outcome}"
            record.update(status="failed", error=message,
                          traceback=getattr(outcome, "__mmbench_traceback__", None))
            self._write(record)
            message += " " + where(cell, self.catalog, record["traceback"],
                                   self.store.record_path(cell.cell_id))
            self.summary.failed.append((cell, message))
            self.reporter.log(f"[red]FAILED[/] {escape(describe(cell))}: {escape(message)}")
            self.reporter.advance(self.cells_task)
            if self.fail_fast:
                raise CellFailed(f"cell {describe(cell)} failed: {message}") from outcome
            return
        if same_as is None:  # a shared computation's time counts once
            self.cost.add_cell(outcome.timings, outcome.worker)
            self.longest_first.done(cell, outcome.timings)
        record.update(status="ok", metrics=outcome.metrics, timings=outcome.timings,
                      dims=outcome.dims, memory=outcome.memory, worker=outcome.worker)
        if outcome.robustness:
            record["robustness"] = outcome.robustness
        if outcome.tuning:
            record["tuning"] = outcome.tuning
        if self.suite.imbalance is not None:
            record["train_class_counts"] = np.bincount(task.y_train,
                                                       minlength=task.n_classes).tolist()
        self._write(record, y_true=task.y_test, y_pred=outcome.y_pred,
                    proba=outcome.proba, test_index=task.test_index)
        self.summary.ran += 1
        self.reporter.advance(self.cells_task)
        if not self.reporter.live:
            head = self.suite.headline
            shared = f" (computed with seed {same_as.cell.seed})" if same_as else ""
            self.reporter.log(escape(f"done {describe(cell)}: {head}={outcome.metrics[head]:.4f}"
                                     f"{shared}"))


def run_suite(path: str | Path, console: Console | None = None, *,
              catalog: Catalog | None = None, **options: Any) -> RunSummary:
    """Validate and run the suite at ``path`` (see :class:`Runner` for options).

    ``executor`` may be an executor instance, or an executor plugin's name (else the suite's
    ``[executor]`` table, else ``local``) with ``executor_options`` overriding the suite's."""
    catalog = catalog or get_catalog()
    plan = plan_suite(load_suite(path), catalog)
    size = announce(plan, yes=options.pop("yes", True),
                    rerun=options.get("rerun", False))  # refused before anything
    executor = options.pop("executor", None)
    executor_options = options.pop("executor_options", None)
    if executor is None or isinstance(executor, str):
        from .executors import DEFAULT_EXECUTOR, make_executor, require_installed

        named = executor or (plan.suite.executor.name if plan.suite.executor else None)
        if named is None and DEFAULT_EXECUTOR not in catalog["executor"]:
            executor = SerialExecutor(catalog)  # executor plugins disabled: run in-process
        else:
            executor = make_executor(catalog, plan.suite.executor, executor, executor_options)
        if getattr(executor, "remote", False):
            require_installed(plan.cells, catalog,
                              getattr(executor, "name", type(executor).__name__),
                              featurizers=getattr(executor, "featurizes", False))
    return Runner(plan, catalog, console or Console(), executor=executor, size_line=size,
                  **options).run()
