"""Freed memory kept for reuse while a featurizer runs (glibc's allocator, on Linux).

A CNN's forward pass allocates and frees each layer's activations, tens of megabytes a batch.
glibc serves blocks that large with a fresh ``mmap`` and unmaps them on ``free``, so every batch
touches its activations' pages anew: on a virtual machine those page faults cost more than the
convolutions (EfficientNet-Lite0 at 128 px, 1,024 CIFAR images on one thread: 19.1 s, 11.2 s
of it in the kernel, against 7.0 s with the memory kept: ``benchmarks/featurize_memory.py``,
docs/featurizers.md). Inside :func:`reuse_freed_memory` large blocks come from the heap and
stay there when freed, so the next batch reuses them; on leaving, the allocator's defaults come
back and the freed memory is returned to the system (``malloc_trim``), so a cell's peak memory,
measured later in the same process, is not inflated by it. Only where the memory lives changes, never a value computed.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import sys
import threading
from collections.abc import Iterator
from typing import Any

#: mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
#: glibc's defaults, restored on leaving
DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD = 65536, 128 * 1024
#: freed memory at the top of the heap kept inside the context (bytes; mallopt takes an int)
KEEP_BYTES = 2**31 - 1

_lock = threading.Lock()
_depth = 0


@functools.cache
def _libc() -> Any:
    """glibc, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist
    except (OSError, AttributeError):
        return None
    return libc


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[bool]:
    """Inside, freed large blocks stay in this process for reuse (True where the allocator
    allows it; elsewhere a no-op yielding False). Nested and concurrent uses are counted: the
    defaults come back when the last one leaves."""
    global _depth
    libc = _libc()
    if libc is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            libc.mallopt(M_MMAP_MAX, 0)
            libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
