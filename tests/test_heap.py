"""Freed memory kept for reuse while featurizing (mmbench.heap): the pages of a freed large
block are reused inside the context, and given back after it."""

from __future__ import annotations

import ctypes
import resource
import sys

import pytest

from mmbench.heap import reuse_freed_memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def faults_of_allocating(times: int, mib: int = 64) -> int:
    """Minor page faults of allocating, filling and freeing a ``mib`` MiB block ``times`` times
    with the C allocator (as torch allocates a forward pass's activations, batch after
    batch; numpy asks for huge pages, which hide the effect)."""
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        block = libc.malloc(mib << 20)
        assert block
        ctypes.memset(block, 1, mib << 20)
        libc.free(block)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_freed_blocks_are_reused_inside_and_returned_after() -> None:
    pages = (64 << 20) // 4096
    outside = faults_of_allocating(8)
    with reuse_freed_memory() as active:
        assert active
        inside = faults_of_allocating(8)
    after = faults_of_allocating(8)
    assert outside > 6 * pages  # every allocation is a fresh mapping, faulted in anew
    assert inside < 2 * pages  # the first block's pages serve the next seven
    assert after > 6 * pages  # the defaults are back: the memory went back to the system


def test_nested_contexts_restore_the_defaults_once() -> None:
    pages = (64 << 20) // 4096
    with reuse_freed_memory():
        with reuse_freed_memory():
            pass
        assert faults_of_allocating(8) < 2 * pages  # still inside the outer one
    assert faults_of_allocating(8) > 6 * pages
