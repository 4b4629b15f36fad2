"""A dataset's fingerprint from its content and the loader's parameters.

The same rows read from a CSV or a Parquet file give the same fingerprint (so they share the
feature cache); any changed image, text, number, label, group or split changes it (and so every
result's identity)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_VERSION = b"mmbench-content-v1\0"


def _text(h: Any, texts: Sequence[str]) -> None:
    h.update("\0".join(map(str, texts)).encode("utf-8") + b"\0")


def _frame(h: Any, frame: Any) -> None:
    import pandas as pd

    h.update(json.dumps([[str(c), str(frame[c].dtype)] for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def content_fingerprint(modalities: Mapping[str, Any], y: np.ndarray,
                        class_names: Sequence[str], *, kinds: Mapping[str, str] | None = None,
                        groups: np.ndarray | None = None,
                        predefined_test: np.ndarray | None = None,
                        params: Mapping[str, Any] | None = None,
                        digests: Mapping[str, str] | None = None) -> str:
    """sha256 over every modality's samples (by name and kind), the labels, class names,
    groups, predefined split and ``params`` (the loader settings that shape the content, e.g.
    image size and resize method). ``digests`` gives a precomputed content digest for a
    modality (an image array's :func:`~.images.array_digest`), so it is not hashed again."""
    h = hashlib.sha256(_VERSION)
    for name in sorted(modalities):
        samples = modalities[name]
        kind = (kinds or {}).get(name, "")
        h.update(f"\0modality {name} {kind}\0".encode())
        if digests and name in digests:
            h.update(digests[name].encode())
        elif isinstance(samples, np.ndarray):
            h.update(repr(samples.shape).encode() + str(samples.dtype).encode())
            h.update(np.ascontiguousarray(samples).data)
        elif hasattr(samples, "columns"):
            _frame(h, samples)
        else:
            _text(h, samples)
    h.update(b"\0labels\0" + np.asarray(y, dtype="<i8").tobytes())
    h.update(json.dumps(list(class_names)).encode())
    for what, arr, dtype in (("groups", groups, "<i8"), ("test", predefined_test, "?")):
        if arr is not None:
            h.update(f"\0{what}\0".encode() + np.asarray(arr, dtype=dtype).tobytes())
    h.update(json.dumps(dict(params or {}), sort_keys=True, default=str).encode())
    return h.hexdigest()
