"""mmbench plugin: the ``cifar10`` dataset (CIFAR-10 test images + captions).

Registration imports only :mod:`.dataset`, which defers numpy, PIL and the loaders to ``load()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mmbench

if TYPE_CHECKING:
    from mmbench.hookspecs import Register

from .dataset import Cifar10
from .names import CAPTION_COLUMNS, CLASS_NAMES

__all__ = ["CAPTION_COLUMNS", "CLASS_NAMES", "Cifar10", "mmbench_register_datasets"]


@mmbench.hookimpl
def mmbench_register_datasets(register: Register) -> None:
    """Register :class:`Cifar10` as ``cifar10``."""
    register(Cifar10, name="cifar10")
