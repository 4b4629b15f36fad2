"""The result store: ``results/<suite>/cells/<cell_id>.json``, one record per cell.

Each record is written atomically as the cell finishes (its predictions first, in
``predictions/<cell_id>.npz``), so an interrupted run loses nothing it finished and leaves no
half-written record. A re-run skips cells whose record says ``ok`` (only-missing).
"""

from __future__ import annotations

import io
import json
import platform
import socket
import subprocess
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
        """Store a cell's predictions (if given), then its record."""
        cell_id = record["cell_id"]
        if y_pred is not None:
            buf = io.BytesIO()
            np.savez_compressed(buf, y_true=y_true, y_pred=y_pred, proba=proba,
                                test_index=test_index)
            atomic_write_bytes(self.pred_dir / f"{cell_id}.npz", buf.getvalue())
        path = self.record_path(cell_id)
        try:
            atomic_write_bytes(path, json.dumps(record, indent=1, default=_json_default).encode())
        except BaseException:
            if y_pred is not None:  # no predictions without their record: the cell is missing
                (self.pred_dir / f"{cell_id}.npz").unlink(missing_ok=True)
                path.unlink(missing_ok=True)
            raise
        return path

    def records(self) -> Iterator[dict[str, Any]]:
        """Every stored record (unreadable files are skipped with a warning)."""
        if not self.cells_dir.is_dir():
            return
        for path in sorted(self.cells_dir.glob("*.json")):
            try:
                yield json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                import warnings

                warnings.warn(f"skipping unreadable result record {path}: {exc}")

    def completed(self) -> set[str]:
        """Ids of cells recorded as ok."""
        return {r["cell_id"] for r in self.records() if r.get("status") == "ok"}

    def predictions(self, cell_id: str) -> dict[str, np.ndarray]:
        with np.load(self.pred_dir / f"{cell_id}.npz") as data:
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
