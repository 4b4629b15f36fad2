"""Train/test duplicates: identical images (by content hash) or identical texts on both sides of
a split.

A test row whose image (or text) also appears in the training part lets a model remember rather
than generalize; when every training copy has the test row's own label the copy gives the
answer away (``pinned``). Rows of one group never straddle a split, so data with groups (the
questions about one picture) only shows copies that cross groups. Part of the leakage audit
(:mod:`mmbench.audit`): computed once per dataset and set of splits of a run, stored in
``audit.json`` under the dataset's ``duplicates``, printed under the leaderboard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .protocols import IMAGE, TEXT, MultimodalData, SharedSamples

#: Share of test rows with a label-pinned training copy from which the audit warns, by kind:
#: any identical image (a copy of the picture is a leak however rare), 5% of texts (short
#: generic captions repeat naturally across different pictures: 1.5% of CIFAR-10's do).
WARN_SHARE = {IMAGE: 0.0, TEXT: 0.05}


def content_ids(samples: Any, kind: str) -> np.ndarray:
    """One integer per row, equal for rows with identical content: an image's bytes (blake2b),
    a text with case and runs of whitespace ignored."""
    if isinstance(samples, SharedSamples):  # hash each distinct sample once
        return content_ids(samples.distinct, kind)[samples.index]
    ids: dict[Any, int] = {}
    if kind == IMAGE:
        images = np.asarray(samples)
        keys: Any = (hashlib.blake2b(np.ascontiguousarray(img).tobytes(), digest_size=16)
                     .digest() for img in images)
    else:
        keys = (" ".join(str(t).split()).casefold() for t in samples)
    return np.fromiter((ids.setdefault(k, len(ids)) for k in keys), dtype=np.int64,
                       count=len(samples))


def split_duplicates(ids: np.ndarray, y: np.ndarray, train: np.ndarray,
                     test: np.ndarray) -> tuple[int, int]:
    """(test rows whose content appears in ``train``, those whose training copies all carry the
    test row's label)."""
    tr_ids, tr_y = ids[train], y[train]
    order = np.argsort(tr_ids, kind="stable")
    tr_ids, tr_y = tr_ids[order], tr_y[order]
    te_ids, te_y = ids[test], y[test]
    lo = np.searchsorted(tr_ids, te_ids, side="left")
    hi = np.searchsorted(tr_ids, te_ids, side="right")
    copied = hi > lo
    # the training labels of one id span tr_y[lo:hi]: pinned when min == max == the test label
    mins = np.full(len(test), -1)
    maxs = np.full(len(test), -1)
    if copied.any() and len(tr_y):
        starts = np.flatnonzero(np.r_[True, tr_ids[1:] != tr_ids[:-1]])
        run_min = np.minimum.reduceat(tr_y, starts)
        run_max = np.maximum.reduceat(tr_y, starts)
        run = np.searchsorted(starts, lo[copied], side="right") - 1
        mins[copied], maxs[copied] = run_min[run], run_max[run]
    pinned = copied & (mins == te_y) & (maxs == te_y)
    return int(copied.sum()), int(pinned.sum())


def _splits(n: int) -> str:
    return f"{n} split" + ("" if n == 1 else "s")


def duplicate_audit(data: MultimodalData,
                    splits: Mapping[Any, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Per image or text modality of ``data``: over ``splits`` (name -> (train, test)), the test
    rows with an identical training row (``copies``), those whose copies all share their label
    (``pinned``), the worst split, and a verdict (``level``: ``leak`` from the kind's
    :data:`WARN_SHARE` of pinned rows, ``partial`` with any copy, else ``none``) with a
    ``message``."""
    out: dict[str, Any] = {}
    y = np.asarray(data.y)
    for modality, samples in data.modalities.items():
        kind = data.kind(modality)
        if kind not in (IMAGE, TEXT) or not splits:
            continue
        ids = content_ids(samples, kind)
        rows = n_copies = n_pinned = 0
        worst: tuple[float, str] = (-1.0, "")
        for name, (train, test) in splits.items():
            copies, pinned = split_duplicates(ids, y, np.asarray(train), np.asarray(test))
            rows, n_copies, n_pinned = rows + len(test), n_copies + copies, n_pinned + pinned
            worst = max(worst, (copies / max(len(test), 1), str(name)))
        share, pinned_share = n_copies / max(rows, 1), n_pinned / max(rows, 1)
        what = "image" if kind == IMAGE else "text"
        level = ("leak" if n_pinned and pinned_share >= WARN_SHARE[kind] else
                 "partial" if n_copies else "none")
        message = (f"{n_copies} of {rows} test rows ({share:.1%}, {_splits(len(splits))}) have "
                   f"an identical {what} in training, {n_pinned} ({pinned_share:.1%}) only "
                   f"with their own label")
        if level == "leak":
            message += ": deduplicate, or give the copies one group"
        out[modality] = {"kind": kind, "test_rows": rows, "copies": n_copies,
                         "pinned": n_pinned, "share": share, "pinned_share": pinned_share,
                         "worst_split": worst[1], "worst_share": max(worst[0], 0.0),
                         "level": level, "message": message}
    return out
