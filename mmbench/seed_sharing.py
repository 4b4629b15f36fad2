"""Cells that differ only in their seed, where nothing in them depends on the seed, are one
computation: it runs once and is recorded for every seed.

A suite's seeds reach a cell through its split (a stratified or k-fold split is drawn per
seed), the inner split of tuned and calibrated cells, the imbalanced training split, test-time
corruptions, and the ``random_state`` given to fusion and classifier plugins. On a dataset's
predefined split (easy-VQA's official train/test, a ``split_column``) with a deterministic
classifier (lbfgs logistic regression) and fusion (concat, uncalibrated late fusion), every
seed computes the same thing; the seeds then matter only for the cells that use them (an MLP,
xgboost, a learned joint embedding).

Two tasks are the same computation when they have the same training and test rows (the split
key, which also covers an imbalanced training split) and the same cell apart from the seed,
use no inner split and no corruptions, and neither plugin uses the seed. A plugin says whether
it does with an optional classmethod ``uses_seed(params) -> bool``; without one, it does when
its ``__init__`` takes ``random_state`` and the suite does not fix it.

The later seeds' records are the first one's outcome under their own cell ids, with
``"same_as"`` naming the cell that was computed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .tasks import CellTask

#: What a shared record's ``same_as`` says about why.
WHY = "nothing in this cell depends on the seed: it was computed once for every seed"


def uses_seed(catalog: Any, variant: Any) -> bool:
    """Whether the plugin of ``variant`` (a fusion or classifier) depends on the cell's seed."""
    entry = catalog[variant.kind].get(variant.name)
    rule = getattr(entry.cls, "uses_seed", None)
    params = dict(variant.params)
    if callable(rule):
        return bool(rule(params))
    return "random_state" in entry.params and "random_state" not in params


def sharing_key(task: CellTask, catalog: Any, corrupted: bool) -> str | None:
    """What identifies the computation of ``task`` across seeds, or None when the seed
    reaches it (see the module's docstring)."""
    cell = task.cell
    if corrupted or "inner" in cell.options:
        return None
    if uses_seed(catalog, cell.fusion) or uses_seed(catalog, cell.classifier):
        return None
    return json.dumps([task.split_key, cell.dataset.as_dict(), dict(cell.split), cell.fold,
                       [(m, f.as_dict()) for m, f in cell.featurizers], cell.fusion.as_dict(),
                       cell.classifier.as_dict(), cell.options], sort_keys=True, default=str)


class SeedSharing:
    """Tracks the tasks computed once for several seeds during one run.

    :meth:`follows` is asked for each task before it is dispatched: True means another seed's
    task is (or was) that computation, and ``record(task, outcome, same_as)`` is called for it
    when that outcome is known (at once, if it already is)."""

    def __init__(self, catalog: Any, corrupted: bool,
                 record: Callable[[CellTask, Any, CellTask], None]) -> None:
        self.catalog = catalog
        self.corrupted = corrupted
        self.record = record
        self._leader: dict[str, CellTask] = {}  # key -> the task that computes it
        self._key: dict[str, str] = {}  # cell id of a leading task -> key
        self._waiting: dict[str, list[CellTask]] = {}
        self._done: dict[str, Any] = {}  # key -> the leader's outcome
        self.shared = 0

    def follows(self, task: CellTask) -> bool:
        key = sharing_key(task, self.catalog, self.corrupted)
        if key is None:
            return False
        leader = self._leader.get(key)
        if leader is None:
            self._leader[key] = task
            self._key[task.cell.cell_id] = key
            return False
        self.shared += 1
        if key in self._done:
            self.record(task, self._done[key], leader)
        else:
            self._waiting.setdefault(key, []).append(task)
        return True

    def done(self, task: CellTask, outcome: Any) -> None:
        """The outcome of a task that may lead others: record them."""
        key = self._key.get(task.cell.cell_id)
        if key is None:
            return
        self._done[key] = outcome
        for follower in self._waiting.pop(key, []):
            self.record(follower, outcome, task)
