"""Sealed cache entries of decoded arrays: ``cache_dir()/<namespace>/<key>/``.

An entry is a folder of ``.npy`` arrays plus ``meta.json``, with ``sha256.json`` listing the
sha256 of every other file. It is written into a temp folder, sealed, flushed to disk and renamed
into place, so a reader sees a whole entry or none; a truncated or tampered entry fails its
checksums on read, is reported with a warning and built again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import mmap
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mmbench import paths
from mmbench.cache import dir_mode, fsync_dir

#: The file in a cache folder that lists the sha256 of every other file in it.
CHECKSUMS = "sha256.json"
META = "meta.json"

#: What :func:`cached_arrays` builds and returns: arrays by name, and JSON-able facts.
Entry = tuple[dict[str, np.ndarray], dict[str, Any]]
T = TypeVar("T")
#: A cache file's bytes as read: mapped copy-on-write (empty files: ``b""``; where files cannot
#: be mapped, read into memory).
Buffer = mmap.mmap | bytes | bytearray


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
    found = _verified(folder, keep=False)
    return found if isinstance(found, str) else None


def _verified(folder: Path, keep: bool = True) -> dict[str, Buffer] | str:
    """Every file listed in ``folder``'s checksums, checked (and with ``keep``, its bytes:
    each file is mapped once, :func:`_mapped`), or what is wrong with the folder."""
    if not (folder / CHECKSUMS).exists():
        return f"it has no {CHECKSUMS}: written by an older mmbench, or left unfinished"
    out = {}
    try:
        sums = json.loads((folder / CHECKSUMS).read_text(encoding="utf-8"))
        for name, digest in sums.items():
            with open(folder / name, "rb") as fh:
                if keep:
                    data = _mapped(fh)
                    actual = hashlib.sha256(data).hexdigest()
                    out[name] = data
                else:
                    actual = hashlib.file_digest(fh, "sha256").hexdigest()
            if actual != digest:
                return f"{name} differs from its recorded sha256"
    except (OSError, ValueError, AttributeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return out


def _mapped(fh: Any) -> Buffer:
    """The bytes of the open file ``fh``, mapped copy-on-write: the OS page cache's pages, with
    neither a copy nor freshly zeroed memory (reading 30 MB into new memory costs a page fault
    per 4 KB, more than the sha256 of it), and writes to them stay private. Entries are never
    changed in place (:func:`write_entry` renames a new folder in), so a mapped file stays as
    it was checked."""
    size = os.fstat(fh.fileno()).st_size
    if not size:
        return b""
    try:
        return mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_COPY)
    except OSError:  # a file system that cannot map files: read it into memory
        data = bytearray(size)
        fh.readinto(data)
        return data


def entry_dir(namespace: str, key: str) -> Path:
    """Where the entry ``key`` of ``namespace`` (e.g. ``"cifar10/arrays"``) lives."""
    return paths.cache_dir() / namespace / key


def read_entry(folder: Path, what: str = "decoded-array cache") -> Entry | None:
    """The arrays and facts of a sealed entry, or None when it is absent or damaged (a
    warning names a damaged one). Each file is read once: its sha256 is checked on the bytes
    the arrays are then made from (no second read, no copy)."""
    return _entry(folder, _verified(folder) if folder.is_dir() else None, what)


def read_entry_during(folder: Path, work: Callable[[], T],
                      what: str = "decoded-array cache") -> tuple[Entry | None, T]:
    """:func:`read_entry` of ``folder`` and ``work()`` at the same time: the entry is read and
    its checksums verified on another thread (file reads and sha256 release the interpreter's
    lock) while ``work`` runs in this one. An exception of ``work`` is raised once the read is
    over. A cached reload of many images overlaps its checksum with its ``stat`` of every
    image file this way (:func:`~.sources.load_images`)."""
    if not folder.is_dir():
        return None, work()
    with ThreadPoolExecutor(1, thread_name_prefix="mmbench-verify") as pool:
        pending = pool.submit(_verified, folder)
        done = work()
    return _entry(folder, pending.result(), what), done


def _entry(folder: Path, found: dict[str, Buffer] | str | None, what: str) -> Entry | None:
    """The entry made of :func:`_verified`'s answer (None: no such folder), with a warning
    naming a damaged one."""
    if found is None:
        return None
    try:
        if isinstance(found, str):
            warnings.warn(f"{what} {folder} is damaged ({found}); decoding again",
                          stacklevel=4)
            return None
        if META not in found:
            return None
        meta = json.loads(bytes(found.pop(META)).decode("utf-8"))
        arrays = {Path(name).stem: _array(data) for name, data in sorted(found.items())
                  if name.endswith(".npy") and "/" not in name}
    except (OSError, ValueError):
        return None
    return arrays, meta


def _array(data: Buffer) -> np.ndarray:
    """The array of a ``.npy`` file's bytes, as a view of them (writable, no copy)."""
    stream = io.BytesIO(memoryview(data)[:1 << 17].tobytes())
    version = np.lib.format.read_magic(stream)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read(stream)
    if dtype.hasobject:
        raise ValueError("object arrays are not cached")
    count = int(np.prod(shape, dtype=np.int64))
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    return flat.reshape(shape, order="F" if fortran else "C")


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
