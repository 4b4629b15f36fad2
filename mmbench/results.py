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
import json
import platform
import socket
import subprocess
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .cache import atomic_write_bytes


def git_sha(cwd: Path | None = None) -> str:
    """The current commit (with ``-dirty`` when the tree has changes), or "" outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    import os

    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


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
        try:
            atomic_write_bytes(path, json.dumps(record, indent=1, default=_json_default).encode())
        except BaseException:
            if y_pred is not None:  # no predictions without their record: the cell is missing
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
        pred = self.pred_path(record["cell_id"])
        try:
            blob = pred.read_bytes()
        except FileNotFoundError:
            return f"its predictions {pred} are missing"
        expected = record.get("predictions_sha256")
        if expected and hashlib.sha256(blob).hexdigest() != expected:
            return f"its predictions {pred} do not match the checksum in the record"
        return None

    def clean(self) -> list[Path]:
        """Remove what an interrupted writer can leave behind: temp files, and predictions
        without an ``ok`` record. Returns the removed paths. Only a run holding the results
        folder's lock may call this (see :mod:`mmbench.lock`)."""
        removed = [p for d in (self.cells_dir, self.pred_dir) if d.is_dir()
                   for p in d.glob(".*.tmp")]
        if self.root.is_dir():  # not the temp file of a report being written meanwhile
            removed += [p for name in ("manifest.json", "audit.json")
                        for p in self.root.glob(f".{name}.*.tmp")]
        if self.pred_dir.is_dir():
            ok = {r["cell_id"] for r in self.records() if r.get("status") == "ok"}
            removed += [p for p in self.pred_dir.glob("*.npz") if p.stem not in ok]
        for path in removed:
            path.unlink(missing_ok=True)
        return removed

    def records(self) -> Iterator[dict[str, Any]]:
        """Every stored record (unreadable files are skipped with a warning)."""
        if not self.cells_dir.is_dir():
            return
        for path in sorted(self.cells_dir.glob("*.json")):
            try:
                record = json.loads(path.read_text())
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                warnings.warn(f"skipping unreadable result record {path}: {exc}")
                continue
            if not isinstance(record, dict) or record.get("cell_id") != path.stem:
                warnings.warn(f"skipping result record {path}: it is not the record of cell "
                              f"{path.stem}")
                continue
            yield record

    def completed(self) -> set[str]:
        """Ids of cells recorded as ok, with their predictions whole (see :meth:`problem`);
        any other cell is run again."""
        done: set[str] = set()
        for r in self.records():
            if r.get("status") != "ok":
                continue
            problem = self.problem(r)
            if problem is None:
                done.add(r["cell_id"])
            else:
                warnings.warn(f"cell {r['cell_id']} counts as not recorded: {problem}; "
                              "it is run again")
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


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
