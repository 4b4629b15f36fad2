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
from .store import cached_arrays

_FORMAT = "2"
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


def source_key(sources: Sequence[Source], salt: str, names: Sequence[str] | None = None) -> str:
    """The cache key of ``sources``: each file's resolved path, size and mtime (a changed
    file changes it), each bytes source's blake2b, plus ``salt``. Missing files are refused,
    naming the first ones."""
    h = hashlib.sha256(f"{_FORMAT}\0{salt}\0".encode())
    texts, stats = _identities(sources)
    missing = [names[i] if names is not None else str(sources[i])
               for i in np.flatnonzero(stats[:, 0] < 0)]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise UserError(f"{len(missing)} image file(s) do not exist: "
                        f"{', '.join(missing[:3])}{more}; fix the paths or add the files")
    h.update("\n".join(texts).encode())
    h.update(stats.tobytes())
    return h.hexdigest()[:32]


def _identities(sources: Sequence[Source]) -> tuple[list[str], np.ndarray]:
    """Each source's identity: its resolved path and ``[size, mtime_ns]`` (``-1`` for a
    missing file; ``stat`` follows symlinks, so a changed target changes it), or for bytes
    their blake2b and ``[len, 0]``. Serial: threads make these ``stat`` calls several times
    slower (measured); a plain loop over absolute string paths, with the sizes and times
    gathered into one int64 array rather than formatted per file, keeps the per-file cost at
    the ``stat`` itself (a cached reload is mostly this loop)."""
    stat = os.stat
    texts: list[str] = []
    flat: list[int] = []
    text, num = texts.append, flat.extend
    for src in sources:
        if type(src) is not str or src[:1] != "/":  # bytes, a Path, or a relative path
            t, pair = _identity(src)
            text(t)
            num(pair)
            continue
        text(src)
        try:
            st = stat(src)
        except OSError:
            num((-1, -1))
            continue
        num((st.st_size, st.st_mtime_ns))
    return texts, np.array(flat, dtype=np.int64).reshape(-1, 2)


def _identity(src: Source) -> tuple[str, tuple[int, int]]:
    if isinstance(src, bytes):
        return "b" + hashlib.blake2b(src, digest_size=16).hexdigest(), (len(src), 0)
    path = os.path.abspath(os.fspath(src))
    try:
        st = os.stat(path)
    except OSError:
        return path, (-1, -1)
    return path, (st.st_size, st.st_mtime_ns)


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
    ``cache_dir()/<namespace>/``: a second load of unchanged files reads one ``.npy``."""
    key = source_key(sources, policy.describe(), names)

    def build() -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        images = decode_images(sources, policy, names=names, description=description)
        return {"images": images}, {"digest": array_digest(images), "n": len(images)}

    (arrays, meta), hit = cached_arrays(namespace, key, build)
    images = arrays.get("images")
    if images is None or len(images) != len(sources) or "digest" not in meta:
        (arrays, meta), hit = build(), False
        images = arrays["images"]
    return Decoded(images, str(meta["digest"]), hit)
