"""Content-addressed feature cache: ``<root>/<key[:2]>/<key>.npy`` plus a ``.json`` sidecar.

Writes go to a temporary file that is flushed to disk and renamed into place, the sidecar last,
so a reader never sees half an array, even after a crash or power loss. Reads check the
sidecar's sha256 and shape; a truncated or tampered entry is deleted and reported as a miss, so
it is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DiskFullError, is_disk_full


def _sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).view(np.uint8).data).hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make a rename or creation in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows: directories cannot be opened; renames are durable there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from ``open`` under the current umask (0644 under 022): temp
    files are created 0600 and would keep that after their rename."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode a new folder gets from ``mkdir`` under the current umask (``mkdtemp``: 0700)."""
    return 0o777 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder, flushed to disk, then
    renamed over ``path`` and the folder synced: ``path`` holds the old bytes or the new ones,
    never part of them, even after SIGKILL or a power loss."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())  # as a plain write would: the umask decides, not mkstemp
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_disk_full(exc):
            raise DiskFullError(path) from exc
        raise
    fsync_dir(path.parent)


class FeatureCache:
    """Feature matrices by key (a hash the caller builds from everything that defines them)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key(**parts: Any) -> str:
        blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        base = self.root / key[:2] / key
        return base.with_suffix(".npy"), base.with_suffix(".json")

    def __contains__(self, key: str) -> bool:
        return self._paths(key)[1].exists()

    def get(self, key: str) -> np.ndarray | None:
        """The cached array (memory-mapped, checksum verified) or None."""
        npy, meta_path = self._paths(key)
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            array = np.load(npy, mmap_mode="r")
            ok = _sha256(array) == meta["sha256"] and list(array.shape) == meta["shape"]
        except (OSError, ValueError, KeyError) as exc:
            ok, array = False, None
            reason = str(exc)
        else:
            reason = "checksum mismatch"
        if not ok:
            warnings.warn(f"feature cache entry {npy} is corrupt ({reason}); recomputing")
            meta_path.unlink(missing_ok=True)
            npy.unlink(missing_ok=True)
            return None
        return array

    def put(self, key: str, array: np.ndarray, meta: dict[str, Any] | None = None) -> None:
        npy, meta_path = self._paths(key)
        npy.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=npy.parent, prefix=f".{key}.", suffix=".npy")
        try:
            os.fchmod(fd, file_mode())
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.ascontiguousarray(array))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, npy)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if is_disk_full(exc):
                raise DiskFullError(npy) from exc
            raise
        info = {**(meta or {}), "sha256": _sha256(array), "shape": list(array.shape),
                "dtype": str(array.dtype)}
        atomic_write_bytes(meta_path, json.dumps(info, indent=1, default=str).encode())
