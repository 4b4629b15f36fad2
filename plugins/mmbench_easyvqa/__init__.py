"""mmbench plugin: the ``easy-vqa`` dataset (64x64 shape images + questions about them).

Registration imports only :mod:`.dataset`, which defers numpy, PIL and the package to ``load()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mmbench

if TYPE_CHECKING:
    from mmbench.hookspecs import Register

from .dataset import EasyVQA

__all__ = ["EasyVQA", "mmbench_register_datasets"]


@mmbench.hookimpl
def mmbench_register_datasets(register: Register) -> None:
    """Register :class:`EasyVQA` as ``easy-vqa``."""
    register(EasyVQA, name="easy-vqa")
