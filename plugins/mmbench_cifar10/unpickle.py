"""Reading the official CIFAR-10 python batches without trusting them.

The batches are pickles: loading an arbitrary pickle can run arbitrary code. Their content is
plain dicts, lists, bytes and ints plus one numpy ``uint8`` array, so :class:`SafeUnpickler`
admits only the few globals those need and refuses everything else.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from mmbench.errors import UserError


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stands in for ``_codecs.encode``, which protocol-2 pickles written by Python 3 use for
    ``bytes``; only the latin-1 round trip is admitted."""
    if encoding.lower().replace("_", "-") not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed")
    return text.encode("latin-1")


def _allowed() -> dict[tuple[str, str], Any]:
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }


class SafeUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` admits only numpy array reconstruction."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _allowed()[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays are allowed"
            ) from None


def load_batch(path: Path) -> dict[bytes, Any]:
    """Unpickle one official batch file (``encoding="bytes"``, as the originals need).
    Raises :class:`UserError` naming the file when it is unreadable or not a batch."""
    try:
        with open(path, "rb") as f:
            obj = SafeUnpickler(f, encoding="bytes").load()
    except Exception as exc:  # a damaged pickle can fail in many ways; all mean the same
        raise UserError(
            f"{path} is not a valid CIFAR-10 python batch ({exc}); replace it with the file "
            f"from the official cifar-10-python.tar.gz."
        ) from exc
    if not isinstance(obj, dict):
        raise UserError(f"{path} is not a CIFAR-10 python batch (a {type(obj).__name__}).")
    return obj
