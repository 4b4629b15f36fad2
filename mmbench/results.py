"""The result store: ``results/<suite>/cells/<cell_id>.json``, one record per cell.

Each record is written atomically as the cell finishes (its predictions first, in
``predictions/<cell_id>.npz``), so an interrupted run loses nothing it finished and leaves no
half-written record. A re-run skips cells whose record says ``ok`` (only-missing).

The commit point of a cell is its record: the predictions are written (temp file, fsync,
rename, folder fsync) before it, and the record carries their sha256. A record whose
predictions are missing or differ from that checksum, or predictions without an ``ok`` record,
count as not recorded: the next run redoes the cell, and :meth:`ResultStore.clean` removes the
strays (and temp files a killed writer left).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import platform
import re
import shutil
import socket
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .cache import atomic_write_bytes, fsync_dir
from .errors import UserError
from .gitsha import git_sha  # noqa: F401  (re-exported: the runner records it)
from .writable import require_writable_dir
from .records import predictions_problem, record_problem

#: The file that makes a folder an mmbench results store.
MARKER = "mmbench-store.json"
#: A cell id (see :attr:`mmbench.plan.Cell.cell_id`) and the random part of a temp file name.
CELL_ID = "[0-9a-f]{20}"
TEMP = r"[a-z0-9_]{8}\.tmp"


def machine() -> dict[str, Any]:
    import os

    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` holds exactly ``data``."""
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ResultStore:
    """Records of one suite's cells, in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.pred_dir = self.root / "predictions"

    def record_path(self, cell_id: str) -> Path:
        return self.cells_dir / f"{cell_id}.json"

    def write(self, record: dict[str, Any], y_true: np.ndarray | None = None,
              y_pred: np.ndarray | None = None, proba: np.ndarray | None = None,
              test_index: np.ndarray | None = None) -> Path:
        """Store a cell's predictions (if given), then its record (the commit point), which
        names the predictions' sha256."""
        cell_id = record["cell_id"]
        if y_pred is not None:
            buf = io.BytesIO()
            np.savez_compressed(buf, y_true=y_true, y_pred=y_pred, proba=proba,
                                test_index=test_index)
            blob = buf.getvalue()
            atomic_write_bytes(self.pred_path(cell_id), blob)
            record = {**record, "predictions_sha256": hashlib.sha256(blob).hexdigest()}
        path = self.record_path(cell_id)
        data = json.dumps(record, indent=1, default=_json_default).encode()
        try:
            atomic_write_bytes(path, data)
        except BaseException:
            # no predictions without their record: the cell is missing; but a record that is
            # in place (Ctrl-C came while its folder was being synced) is whole and stays
            if y_pred is not None and not _holds(path, data):
                self.pred_path(cell_id).unlink(missing_ok=True)
                path.unlink(missing_ok=True)
            raise
        if y_pred is None:  # predictions of an earlier run of this cell no longer apply
            self.pred_path(cell_id).unlink(missing_ok=True)
        return path

    def pred_path(self, cell_id: str) -> Path:
        return self.pred_dir / f"{cell_id}.npz"

    def problem(self, record: dict[str, Any]) -> str | None:
        """Why an ``ok`` record does not count as recorded (its predictions are missing or not
        the ones it was written with), or None when it is whole."""
        return self.load_predictions(record)[1]

    def load_predictions(self, record: dict[str, Any]) -> tuple[dict[str, np.ndarray] | None,
                                                                 str | None]:
        """(the predictions of an ``ok`` record, None), or (None, why they cannot be used):
        missing, not matching the record's sha256, unreadable, or not fitting the record."""
        pred = self.pred_path(record["cell_id"])
        try:
            blob = pred.read_bytes()
        except FileNotFoundError:
            return None, f"its predictions {pred} are missing"
        except OSError as exc:
            return None, f"its predictions {pred} are unreadable ({exc})"
        arrays, problem = predictions_problem(record, blob)
        return arrays, None if problem is None else f"its predictions {pred} {problem}"

    def clean(self) -> list[Path]:
        """Remove what an interrupted writer of this store can leave behind, and nothing else:
        its temp files (``.<name>.<random>.tmp`` of the files it writes) and predictions named
        by a cell id (``<20 hex digits>.npz``) without an ``ok`` record. Returns the removed
        paths. Only a run holding the results folder's lock may call this (see
        :mod:`mmbench.lock`)."""
        own = {self.cells_dir: re.compile(rf"\.{CELL_ID}\.json\.{TEMP}"),
               self.pred_dir: re.compile(rf"\.{CELL_ID}\.npz\.{TEMP}"),
               # not the temp file of a report being written meanwhile
               self.root: re.compile(rf"\.(manifest\.json|audit\.json|{MARKER})\.{TEMP}")}
        removed = [p for d, pattern in own.items() if d.is_dir() for p in d.iterdir()
                   if pattern.fullmatch(p.name) and p.is_file()]
        if self.pred_dir.is_dir():
            ok = {r["cell_id"] for r in self.records() if r.get("status") == "ok"}
            removed += [p for p in self.pred_dir.iterdir() if p.stem not in ok
                        and re.fullmatch(rf"{CELL_ID}\.npz", p.name) and p.is_file()]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def claim(self) -> None:
        """Refuse a results folder that holds files mmbench did not write and is not an mmbench
        store (:class:`~mmbench.errors.UserError`, before any work). A store is recognised by
        its marker file, or, for stores written before markers, by its manifest or records."""
        if not self.root.is_file():  # (a file gets the message below)
            require_writable_dir(self.root, "results folder", "set results_dir in the suite "
                                 "to a folder you can write, or ask its owner")
        if (self.root / MARKER).is_file() or not self.root.exists() or self._legacy():
            return
        if not self.root.is_dir():
            raise UserError(f"{self.root} is a file, not a results folder; choose another "
                            "results_dir or suite name")
        foreign = list(itertools.islice(self._foreign(), 4))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if foreign[3:] else "")
            raise UserError(
                f"{self.root} is not an mmbench results folder (no {MARKER}) and holds files "
                f"mmbench did not write ({shown}); nothing was run: set results_dir (or the "
                f"suite's name) to another folder, or move those files away")

    def mark(self) -> None:
        """Write the marker that makes ``root`` an mmbench store (once)."""
        if not (self.root / MARKER).is_file():
            atomic_write_bytes(self.root / MARKER, json.dumps(
                {"store": "mmbench results", "format": 1, "created": now()}).encode())

    def _legacy(self) -> bool:
        """A store of an earlier mmbench: a manifest, or a record, that mmbench wrote."""
        try:
            manifest = json.loads((self.root / "manifest.json").read_text())
            if isinstance(manifest, dict) and {"suite", "plugins"} <= set(manifest):
                return True
        except (OSError, ValueError):
            pass
        return self.cells_dir.is_dir() and any(
            record_problem(_read_json(p), p.stem) is None
            for p in self.cells_dir.glob("*.json"))

    def _foreign(self) -> Iterator[str]:
        """Paths (relative, sorted per folder) under ``root`` that this store does not write;
        symbolic links are not followed."""
        for folder, dirs, files in os.walk(self.root):
            rel = Path(folder).relative_to(self.root).parts
            dirs.sort()
            if not rel:  # a folder of the store's own, or something else
                for d in [d for d in dirs if d not in ("cells", "predictions", "superseded")]:
                    dirs.remove(d)
                    yield f"{d}/"
            for name in sorted(files):
                if not self._own_name((*rel, name)):
                    yield "/".join((*rel, name))

    @staticmethod
    def _own_name(rel: tuple[str, ...]) -> bool:
        """Whether ``rel`` (parts of a path under ``root``) is a name this store writes."""
        if rel[0] == "superseded" or rel in (("run.lock",), ("manifest.json",),
                                            ("audit.json",), (MARKER,)):
            return True
        kind = {"cells": "json", "predictions": "npz"}.get(rel[0])
        return len(rel) == 2 and kind is not None and re.fullmatch(
            rf"\.?{CELL_ID}\.{kind}(\.{TEMP})?", rel[1]) is not None

    def set_aside(self, record: dict[str, Any]) -> Path:
        """Move a cell's record and predictions to ``superseded/`` (kept, never read by the
        leaderboard and the other readers): its inputs changed and it is run again. The
        predictions are linked there first, so an interruption loses neither."""
        cell_id = record["cell_id"]
        aside = self.root / "superseded"
        aside.mkdir(parents=True, exist_ok=True)
        stamp = re.sub(r"\D", "", str(record.get("time", "")))[:14] or "undated"
        base, n = f"{cell_id}.{stamp}", 1
        while (aside / f"{base}.json").exists():
            n += 1
            base = f"{cell_id}.{stamp}-{n}"
        pred = self.pred_path(cell_id)
        if pred.exists():
            (aside / f"{base}.npz").unlink(missing_ok=True)
            try:
                os.link(pred, aside / f"{base}.npz")
            except OSError:
                shutil.copy2(pred, aside / f"{base}.npz")
        os.replace(self.record_path(cell_id), aside / f"{base}.json")
        fsync_dir(aside)
        fsync_dir(self.cells_dir)
        pred.unlink(missing_ok=True)
        return aside / f"{base}.json"

    def records(self) -> Iterator[dict[str, Any]]:
        """Every usable stored record; any other file in ``cells/`` is skipped with a warning
        naming it and why (see :func:`mmbench.records.record_problem`)."""
        if not self.cells_dir.is_dir():
            return
        for path in sorted(self.cells_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                warnings.warn(f"skipping unreadable result record {path}: {exc}", stacklevel=2)
                continue
            problem = record_problem(record, path.stem)
            if problem is not None:
                warnings.warn(f"skipping result record {path}: {problem}", stacklevel=2)
                continue
            yield record

    def completed(self, records: list[dict[str, Any]] | None = None,
                  ) -> dict[str, dict[str, Any]]:
        """The records (by cell id) of cells recorded as ok, with their predictions whole (see
        :meth:`problem`); any other cell is run again."""
        done: dict[str, dict[str, Any]] = {}
        for r in self.records() if records is None else records:
            if r.get("status") != "ok":
                continue
            problem = self.problem(r)
            if problem is None:
                done[r["cell_id"]] = r
            else:
                warnings.warn(f"cell {r['cell_id']} counts as not recorded: {problem}; "
                              "it is run again", stacklevel=2)
        return done

    def kept(self, failed: bool) -> dict[str, dict[str, Any]]:
        """The records a run keeps (by cell id): :meth:`completed`, and with ``failed`` the
        records of cells that failed (not retried unless asked for)."""
        records = list(self.records())  # (each damaged file warned about once)
        done = self.completed(records)
        if failed:
            done.update({r["cell_id"]: r for r in records
                         if r.get("status") == "failed" and r["cell_id"] not in done})
        return done

    def predictions(self, cell_id: str) -> dict[str, np.ndarray]:
        with np.load(self.pred_path(cell_id)) as data:
            return {k: data[k] for k in data.files}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """The run's provenance (suite text, plugins, machine), rewritten on every run."""
        atomic_write_bytes(self.root / "manifest.json",
                           json.dumps(manifest, indent=1, default=_json_default).encode())

    def manifest(self) -> dict[str, Any]:
        path = self.root / "manifest.json"
        return json.loads(path.read_text()) if path.exists() else {}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
