"""Feature matrices shared with pool workers through memory-mapped files.

A process pool would otherwise pickle every cell's train and test matrices through a pipe:
hundreds of MB per cell for CNN features of a whole dataset. Instead the client writes each
distinct matrix (named by the runner's ``feature_keys``/``split_key``) once to a ``.npy`` file in
a private temporary folder, and a worker maps it copy-on-write (``np.load(mmap_mode="c")``):
the pages live once in the OS page cache, whichever process reads them, and a plugin that
writes into its input changes only its own copy. A file lives as long as its split: cells come
split by split, so a file is deleted when the run has moved on to another split and no cell
using it is in flight (a worker that still maps it keeps its pages until it moves on). Deleting
it as soon as no cell used it would write it again whenever one cell finished before the next
of the same featurization was submitted, a matter of timing. The folder is removed when the
executor closes. Arrays under ``INLINE_BYTES`` travel inline.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

INLINE_BYTES = 1 << 20


@dataclass(frozen=True)
class SharedRef:
    """A matrix that a worker maps from ``path`` instead of receiving it."""

    path: str


Ref = np.ndarray | SharedRef


class SharedArrays:
    """The client side: each key written once, reference-counted by the cells in flight and
    kept until the run moves on to another split."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._refs: dict[str, tuple[SharedRef, int, str]] = {}  # key -> (ref, cells, split)
        self._split = ""  # the split whose cells are being submitted
        self.written = 0  # files written so far (once per featurization and split)

    def share(self, key: str, array: np.ndarray, split: str = "") -> Ref:
        """A reference to ``array`` for one more cell of ``split`` (``release`` it when the
        cell is done). The first key of another split deletes the previous split's files
        that no cell in flight uses."""
        if array.nbytes < INLINE_BYTES:
            return array
        if split != self._split:
            self._split = split
            for old in [k for k, (_, n, s) in self._refs.items() if n == 0 and s != split]:
                self._delete(old)
        ref, count, _ = self._refs.get(key, (None, 0, split))
        if ref is None:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="mmbench-shared-"))
            path = self._dir / f"{key}.npy"
            np.save(path, np.ascontiguousarray(array))
            ref = SharedRef(str(path))
            self.written += 1
        self._refs[key] = (ref, count + 1, split)
        return ref

    def release(self, key: str) -> None:
        """One cell using ``key`` is done; the file goes when none is left and the run has
        moved on to another split (until then a later cell of the split reuses it)."""
        if key not in self._refs:
            return  # shared inline
        ref, count, split = self._refs[key]
        if count == 1 and split != self._split:
            self._delete(key)
        else:
            self._refs[key] = (ref, count - 1, split)

    def _delete(self, key: str) -> None:
        ref, _, _ = self._refs.pop(key)
        Path(ref.path).unlink(missing_ok=True)

    def close(self) -> None:
        """Delete every file (cells in flight must be finished or cancelled)."""
        self._refs.clear()
        self._split = ""
        folder, self._dir = self._dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


_mapped: dict[str, np.ndarray] = {}


def resolve(ref: Any, keep: dict[str, np.ndarray]) -> Any:
    """In a worker: ``ref`` as an array, mapping its file once per worker (kept in ``keep``)."""
    if not isinstance(ref, SharedRef):
        return ref
    if ref.path not in keep:
        keep[ref.path] = _mapped.get(ref.path)
        if keep[ref.path] is None:
            keep[ref.path] = np.load(ref.path, mmap_mode="c")
    return keep[ref.path]


def resolve_all(train: dict[str, Ref], y_train: Ref, test: dict[str, Ref],
                y_test: Ref) -> tuple[dict[str, Any], Any, dict[str, Any], Any]:
    """In a worker: the cell's arrays; mappings the previous cell used and this one does not
    are dropped, so a worker holds one split's matrices, not the whole run's."""
    keep: dict[str, np.ndarray] = {}
    out = ({m: resolve(r, keep) for m, r in train.items()}, resolve(y_train, keep),
           {m: resolve(r, keep) for m, r in test.items()}, resolve(y_test, keep))
    _mapped.clear()
    _mapped.update(keep)
    return out
