"""Memory limits: a featurization's memory is estimated before it runs and refused, with the
estimate and the knob to turn, rather than the process being killed by the operating system.

The estimate has two parts: the output matrix (``2 x N x D x 4`` bytes: float32 rows and the
one copy made when they are joined, from the featurizer's ``output_dim``) and the plugin's own
working memory, from an optional featurizer method ``memory_estimate(samples) -> {part: bytes}``
(the torch featurizers report their CPU batch activations there; a plugin may also report its
own ``outputs``). Without either, nothing is checked. The memory available is the smaller of
the free memory (``psutil``) and a cgroup v2 limit; ``MMBENCH_MEMORY_LIMIT`` (``512M``, ``8G``,
``1.5GiB`` or a byte count; K, M, G, T are powers of 1024) overrides it.
"""

from __future__ import annotations

import inspect

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import MemoryLimitError, UserError

MEMORY_LIMIT_ENV = "MMBENCH_MEMORY_LIMIT"
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``"512M"`` -> 536870912; K, M, G, T are powers of 1024, a ``B``/``iB`` suffix is allowed."""
    m = _SIZE.match(text)
    if m is None:
        raise UserError(f"{MEMORY_LIMIT_ENV}={text!r} is not a size: write a byte count or a "
                        f"number with K, M, G or T (e.g. 512M, 8G)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _cgroup_free(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes left under this process's cgroup v2 memory limit, or None without one."""
    try:
        limit = (root / "memory.max").read_text().strip()
        used = int((root / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


def available_memory() -> tuple[int, str]:
    """(bytes this process may still use, where that number comes from)."""
    configured = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if configured:
        return parse_size(configured), f"{MEMORY_LIMIT_ENV}={configured}"
    import psutil

    free = int(psutil.virtual_memory().available)
    cgroup = _cgroup_free()
    if cgroup is not None and cgroup < free:
        return cgroup, "left under this container's memory limit"
    return free, "free memory"


def featurization_estimate(featurizer: Any, samples: Any) -> dict[str, int]:
    """Estimated peak bytes, by part, of ``featurizer.transform(samples)`` (see the module
    docstring); empty when the featurizer gives no way to estimate."""
    parts: dict[str, int] = {}
    hook = getattr(featurizer, "memory_estimate", None)
    if callable(hook):
        reported: Mapping[str, Any] = hook(samples) or {}
        parts.update({str(k): int(v) for k, v in reported.items()})
    dim = getattr(featurizer, "output_dim", None)
    if "outputs" not in parts and isinstance(dim, int) and not isinstance(dim, bool) and dim > 0:
        parts["outputs"] = 2 * len(samples) * dim * 4
    return parts


def width_param(featurizer: Any) -> str | None:
    """The ``__init__`` parameter that sets the featurizer's ``output_dim`` (the one whose
    value it is, as ``max_features`` for TF-IDF), or None."""
    dim = getattr(featurizer, "output_dim", None)
    if not isinstance(dim, int) or isinstance(dim, bool):
        return None
    try:
        names = inspect.signature(type(featurizer).__init__).parameters
    except (TypeError, ValueError):
        return None
    for name in names:
        value = getattr(featurizer, name, None)
        if name != "self" and isinstance(value, int) and not isinstance(value, bool) \
                and value == dim:
            return name
    return None


def check_featurization_memory(featurizer: Any, samples: Any, who: str,
                               batch_size_param: bool) -> None:
    """Raise :class:`MemoryLimitError` when the estimate exceeds the memory available, naming
    both and the knob: the featurizer's ``batch_size`` param when it has one."""
    parts = featurization_estimate(featurizer, samples)
    need = sum(parts.values())
    if need == 0:
        return
    have, source = available_memory()
    if need <= have:
        return
    detail = " + ".join(f"{k} {format_size(v)}" for k, v in
                        sorted(parts.items(), key=lambda kv: -kv[1]))
    if batch_size_param:
        now = getattr(featurizer, "batch_size", None)
        knob = ("set a smaller batch_size in this featurizer's params in the suite "
                + (f"(now {now})" if now else "(e.g. batch_size = 8)"))
    elif width_param(featurizer) and parts.get("outputs", 0) * 2 >= need:
        name = width_param(featurizer)
        knob = (f"set a smaller {name} in this featurizer's params in the suite (now "
                f"{getattr(featurizer, name):,}: it sets the width of its features), or "
                "featurize fewer samples")
    else:
        knob = "featurize fewer samples (e.g. the dataset's per_class or n param)"
    also = f", or raise {MEMORY_LIMIT_ENV}" if source.startswith(MEMORY_LIMIT_ENV) else ""
    raise MemoryLimitError(
        f"{who} would need about {format_size(need)} of memory ({detail}) but "
        f"{format_size(have)} is available ({source}); nothing was computed: {knob}{also}"
    )
