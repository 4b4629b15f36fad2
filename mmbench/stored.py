"""A results folder as every reader sees it (leaderboard, report, export, compare, the gain
statistics): its usable records, of the current suite unless all are asked for, and their
verified predictions.

- A record that cannot be used (see :mod:`mmbench.records`) is skipped with one warning naming
  its file; a folder left with no usable record is a :class:`~mmbench.errors.UserError`.
- Predictions are used only when their sha256 is the one their record names and they fit the
  record (as the runner checks); others are skipped with one warning naming the file, and the
  statistics that need them are left out for that cell. Missing predictions (deleted to save
  space) are simply absent.
- The manifest names the cells the last run planned (``cells``): records of other cells (a
  suite edited under the same name: other parameters, other seeds) are left out, or with
  ``include_all`` shown with the note ``not in the current suite`` on their classifier, which
  makes them rows of their own.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .results import ResultStore

#: The note that marks the rows of cells not in the current suite (``--all``).
NOT_CURRENT = "not in the current suite"


@dataclass
class StoredResults:
    root: Path
    store: ResultStore
    #: cell id -> usable ``ok`` record shown (a copy, marked when not in the current suite)
    ok: dict[str, dict[str, Any]]
    failed: list[dict[str, Any]]
    manifest: dict[str, Any]
    #: ok records of cells the current suite does not plan, left out (not ``include_all``)
    hidden: int = 0
    #: ids of the shown cells that the current suite does not plan (``include_all``)
    marked: set[str] = field(default_factory=set)
    _preds: dict[str, dict[str, np.ndarray] | None] = field(default_factory=dict)

    def predictions(self, cell_id: str) -> dict[str, np.ndarray] | None:
        """The verified predictions of a shown cell, or None (missing, or skipped with a
        warning naming the file)."""
        if cell_id not in self._preds:
            arrays, problem = self.store.load_predictions(self.ok[cell_id])
            if problem is not None and not problem.endswith("are missing"):
                warnings.warn(f"skipping the predictions of cell {cell_id}: {problem}",
                              stacklevel=2)
            self._preds[cell_id] = arrays
        return self._preds[cell_id]

    def notes(self) -> list[str]:
        """What the reader left out or marked, one line each."""
        if self.hidden:
            return [f"{self.hidden} recorded cell(s) of {self.root} are not in the current "
                    f"suite (it was edited since they ran) and are left out; --all shows them, "
                    f"marked '({NOT_CURRENT})'"]
        if self.marked:
            return [f"rows marked '({NOT_CURRENT})' hold {len(self.marked)} cell(s) that the "
                    "suite no longer plans (shown by --all)"]
        return []


def load_results(root: Path | str, include_all: bool = False) -> StoredResults:
    """The usable records of ``root``; a :class:`UserError` (one line) when none is left."""
    root = Path(root)
    store = ResultStore(root)
    files = sorted(store.cells_dir.glob("*.json")) if store.cells_dir.is_dir() else []
    if not files:
        inner = stores_inside(root)
        if inner:
            shown = ", ".join(p.name for p in inner[:5]) + (", ..." if inner[5:] else "")
            raise UserError(f"{root} is not the results of one suite: it holds {len(inner)} "
                            f"suite result folder(s) ({shown}); name one, e.g. "
                            f"{root / inner[0].name}")
        raise UserError(f"no result records in {store.cells_dir}; run the suite first "
                        "(mmbench run SUITE.toml)")
    records = list(store.records())
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        why = (f"all {len(files)} file(s) there were skipped (see the warnings above)"
               if not records else f"all {len(records)} recorded cell(s) failed (their errors "
               f"are in their records){_skipped(len(files) - len(records))}")
        raise UserError(f"no usable result record in {store.cells_dir}: {why}")
    manifest = read_manifest(store)
    planned = manifest.get("cells")
    current = set(planned) if isinstance(planned, list) else {r["cell_id"] for r in records}
    shown = {r["cell_id"]: r for r in ok if include_all or r["cell_id"] in current}
    if not shown:
        raise UserError(f"none of the {len(ok)} successful record(s) in {store.cells_dir} is "
                        f"a cell of the current suite (it was edited since they ran); "
                        f"--all shows them")
    marked = {cid for cid in shown if cid not in current}
    for cid in marked:
        record = shown[cid] = copy.deepcopy(shown[cid])
        clf = record["classifier"]
        clf["notes"] = [*clf.get("notes", []), NOT_CURRENT]
    failed = [r for r in records if r["status"] != "ok"
              and (include_all or r["cell_id"] in current)]
    return StoredResults(root, store, shown, failed, manifest,
                         hidden=len(ok) - len(shown), marked=marked)


def stores_inside(root: Path) -> list[Path]:
    """The result folders of suites directly under ``root`` (``results/`` given for
    ``results/<suite>``), sorted by name."""
    from .results import MARKER

    if not root.is_dir():
        return []
    return sorted(d for d in root.iterdir() if d.is_dir() and (
        (d / MARKER).is_file() or (d / "cells").is_dir()))


def read_manifest(store: ResultStore) -> dict[str, Any]:
    """The manifest, or ``{}`` (with a warning when it is there but unreadable)."""
    path = store.root / "manifest.json"
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        warnings.warn(f"ignoring unreadable manifest {path}: {exc}", stacklevel=2)
        return {}
    if not isinstance(manifest, dict):
        warnings.warn(f"ignoring manifest {path}: it is not a JSON object", stacklevel=2)
        return {}
    return manifest


def _skipped(n: int) -> str:
    return f"; {n} other file(s) were skipped (see the warnings above)" if n else ""
