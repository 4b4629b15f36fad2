"""Sealed cache entries of decoded arrays: ``cache_dir()/<namespace>/<key>/``.

An entry is a folder of ``.npy`` arrays plus ``meta.json``, with ``sha256.json`` listing the
sha256 of every other file. It is written into a temp folder, sealed, flushed to disk and renamed
into place, so a reader sees a whole entry or none; a truncated or tampered entry fails its
checksums on read, is reported with a warning and built again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mmbench import paths
from mmbench.cache import dir_mode, fsync_dir

#: The file in a cache folder that lists the sha256 of every other file in it.
CHECKSUMS = "sha256.json"
META = "meta.json"

#: What :func:`cached_arrays` builds and returns: arrays by name, and JSON-able facts.
Entry = tuple[dict[str, np.ndarray], dict[str, Any]]


def seal(folder: Path, sync: bool = False) -> None:
    """Record the sha256 of every file under ``folder`` in ``folder/sha256.json`` (written last;
    with ``sync``, each file is flushed to disk first)."""
    sums = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
            sums[path.relative_to(folder).as_posix()] = digest
            if sync:
                os.fsync(fh.fileno())
    with open(folder / CHECKSUMS, "w", encoding="utf-8") as fh:
        json.dump(sums, fh, indent=0)
        fh.flush()
        if sync:
            os.fsync(fh.fileno())
    if sync:
        fsync_dir(folder)


def damage(folder: Path) -> str | None:
    """What is wrong with a folder written by :func:`seal` (a file missing, truncated or
    changed since), or None when every file has its recorded sha256."""
    if not (folder / CHECKSUMS).exists():
        return f"it has no {CHECKSUMS}: written by an older mmbench, or left unfinished"
    try:
        sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
        for name, digest in sums.items():
            with open(folder / name, "rb") as fh:
                if hashlib.file_digest(fh, "sha256").hexdigest() != digest:
                    return f"{name} differs from its recorded sha256"
    except (OSError, ValueError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def entry_dir(namespace: str, key: str) -> Path:
    """Where the entry ``key`` of ``namespace`` (e.g. ``"cifar10/arrays"``) lives."""
    return paths.cache_dir() / namespace / key


def read_entry(folder: Path, what: str = "decoded-array cache") -> Entry | None:
    """The arrays and facts of a sealed entry, or None when it is absent or damaged (a
    warning names a damaged one)."""
    if not folder.is_dir():
        return None
    problem = damage(folder)
    if problem is not None:
        warnings.warn(f"{what} {folder} is damaged ({problem}); decoding again", stacklevel=3)
        return None
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        arrays = {p.stem: np.load(p) for p in sorted(folder.glob("*.npy"))}
    except (OSError, ValueError):
        return None
    return arrays, meta


def write_entry(folder: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write an entry into a temp folder beside ``folder``, seal it and rename it into place
    (atomic; a concurrent writer of the same entry wins harmlessly)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder.parent))
    os.chmod(tmp, dir_mode())  # mkdtemp makes it 0700: the umask decides, as for mkdir
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array))
        (tmp / META).write_text(json.dumps(dict(meta)), encoding="utf-8")
        seal(tmp, sync=True)
        shutil.rmtree(folder, ignore_errors=True)  # a damaged entry that failed to read
        with contextlib.suppress(OSError):  # fails only if another process wrote it first
            os.rename(tmp, folder)
            fsync_dir(folder.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def cached_arrays(namespace: str, key: str, build: Callable[[], Entry],
                  what: str = "decoded-array cache") -> tuple[Entry, bool]:
    """``build()``'s arrays and facts, from the entry ``key`` of ``namespace`` when it is there
    and whole, else built and stored. Returns ``(entry, from_cache)``."""
    folder = entry_dir(namespace, key)
    found = read_entry(folder, what)
    if found is not None:
        return found, True
    entry = build()
    write_entry(folder, *entry)
    return entry, False
