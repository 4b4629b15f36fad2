"""Image sources: resolving paths from a table, keying them for the decoded-array cache, and
loading them through the cache (:func:`load_images`)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmbench.errors import UserError

from .images import Source, SizePolicy, array_digest, decode_images
from .store import entry_dir, read_entry_during, write_entry

_FORMAT = "3"
_URL_SCHEMES = ("http://", "https://", "ftp://", "s3://", "gs://", "hf://")


def resolve_paths(values: Sequence[Any], base: Path, where: str) -> list[str]:
    """Image paths from a table column: relative to ``base`` (the table's folder) or absolute;
    URLs and empty cells refused (mmbench reads local files only), one line naming the row."""
    values = list(values)
    if not all(type(v) is str for v in values) or not all(map(str.strip, values)):
        row, value = next((i, v) for i, v in enumerate(values)
                          if not isinstance(v, str) or not v.strip())
        raise UserError(f"{where}: row {row} has no image path ({value!r}): fill the cell "
                        f"or drop the row")
    if "://" in "\0".join(values):  # one scan of every path, then the first URL's row
        for row, value in enumerate(values):
            if "://" in value and value.lower().startswith(_URL_SCHEMES):
                raise UserError(f"{where}: row {row} is a URL ({value}); mmbench reads local "
                                f"image files only (it works offline): download the images "
                                f"and put their paths in the table")
    root = os.path.abspath(base) + os.sep
    if os.sep == "/":
        return [v if v[:1] == "/" else root + v for v in values]
    return [v if os.path.isabs(v) else root + v for v in values]


def source_key(sources: Sequence[Source], salt: str) -> str:
    """Where the decoded arrays of ``sources`` are cached: each file's resolved path, each
    bytes source's blake2b, plus ``salt`` (whether the files changed is :func:`source_stamp`'s
    part, checked against the entry's)."""
    h = hashlib.sha256(f"{_FORMAT}\0{salt}\0".encode())
    h.update("\n".join(_identities(sources)).encode())
    return h.hexdigest()[:32]


def source_stamp(sources: Sequence[Source], names: Sequence[str] | None = None) -> str:
    """What changes when one of ``sources`` changes: each file's ``[size, mtime_ns]``
    (``stat`` follows symlinks, so a changed target changes it; a bytes source's is its length,
    its content being in :func:`source_key`). Missing files are refused, naming the first ones.

    Serial: threads make these ``stat`` calls several times slower (measured); a plain loop
    over absolute string paths, with the sizes and times gathered into one int64 array rather
    than formatted per file, keeps the per-file cost at the ``stat`` itself (a cached reload is
    mostly this loop, overlapped with checking the cached entry: :func:`load_images`)."""
    stat = os.stat
    flat: list[int] = []
    num = flat.extend
    for src in sources:
        if type(src) is not str or src[:1] != "/":  # bytes, a Path, or a relative path
            num(_stat(src))
            continue
        try:
            st = stat(src)
        except OSError:
            num((-1, -1))
            continue
        num((st.st_size, st.st_mtime_ns))
    stats = np.array(flat, dtype=np.int64).reshape(-1, 2)
    missing = [names[i] if names is not None else str(sources[i])
               for i in np.flatnonzero(stats[:, 0] < 0)]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise UserError(f"{len(missing)} image file(s) do not exist: "
                        f"{', '.join(missing[:3])}{more}; fix the paths or add the files")
    return hashlib.sha256(stats.tobytes()).hexdigest()[:32]


def _identities(sources: Sequence[Source]) -> list[str]:
    """Each source's identity: its resolved path, or for bytes their blake2b."""
    if all(type(src) is str and src[:1] == "/" for src in sources):
        return list(sources)  # type: ignore[arg-type]
    return [_identity(src) for src in sources]


def _identity(src: Source) -> str:
    if isinstance(src, bytes):
        return "b" + hashlib.blake2b(src, digest_size=16).hexdigest()
    if type(src) is str and src[:1] == "/":
        return src
    return os.path.abspath(os.fspath(src))


def _stat(src: Source) -> tuple[int, int]:
    if isinstance(src, bytes):
        return len(src), 0
    try:
        st = os.stat(_identity(src))
    except OSError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class Decoded:
    """Decoded images with their content digest (:func:`~.images.array_digest`)."""

    images: np.ndarray
    digest: str
    from_cache: bool


def load_images(sources: Sequence[Source], policy: SizePolicy = SizePolicy(), *,
                names: Sequence[str] | None = None, namespace: str = "images",
                description: str = "decoding images") -> Decoded:
    """Decode ``sources`` (see :func:`~.images.decode_images`), cached in
    ``cache_dir()/<namespace>/``: a second load of unchanged files reads one ``.npy``.

    The entry is found by the files' paths (:func:`source_key`) and used when its recorded
    :func:`source_stamp` is the files' own: a changed file is decoded again and its entry
    replaced. Its checksum is verified on another thread while this one stats the files."""
    folder = entry_dir(namespace, source_key(sources, policy.describe()))
    found, stamp = read_entry_during(folder, lambda: source_stamp(sources, names))
    if found is not None:
        arrays, meta = found
        images = arrays.get("images")
        if (images is not None and len(images) == len(sources) and "digest" in meta
                and meta.get("sources") == stamp):
            return Decoded(images, str(meta["digest"]), True)
    images = decode_images(sources, policy, names=names, description=description)
    meta = {"digest": array_digest(images), "n": len(images), "sources": stamp}
    write_entry(folder, {"images": images}, meta)
    return Decoded(images, str(meta["digest"]), False)
