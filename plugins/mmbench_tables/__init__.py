"""mmbench plugin: the built-in ``table`` and ``hf`` datasets (your own data, zero code).

Both load through the shared loader :mod:`mmbench.loading` (image decoding, size policy,
decoded-array cache, load-time checks, content fingerprints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mmbench

if TYPE_CHECKING:
    from mmbench.hookspecs import Register

from .hf import HuggingFace
from .table import Table

__all__ = ["HuggingFace", "Table", "mmbench_register_datasets"]


@mmbench.hookimpl
def mmbench_register_datasets(register: Register) -> None:
    """Register :class:`Table` as ``table`` and :class:`HuggingFace` as ``hf``."""
    register(Table, name="table")
    register(HuggingFace, name="hf")
