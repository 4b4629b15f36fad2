"""A table (a DataFrame) and its :class:`~.columns.Layout` -> :class:`MultimodalData`, through
the shared loader (:mod:`mmbench.loading`): images decoded and cached, texts, labels, groups
and splits checked, fingerprint from content."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmbench.errors import UserError
from mmbench.loading import (
    SizePolicy,
    check_texts,
    content_fingerprint,
    load_images,
    resolve_paths,
)
from mmbench.protocols import MultimodalData

from .columns import Layout

TEST_VALUES = ("test", "testing")
TRAIN_VALUES = ("train", "training", "validation", "valid", "val", "dev")


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r) for r in rows[:5])
    return f"{len(rows)} row(s) ({shown}{', ...' if len(rows) > 5 else ''})"


def _missing(series: Any) -> np.ndarray:
    """Rows with no value: None, NaN, or only whitespace (image dicts and bytes count)."""
    missing = np.array(series.isna(), dtype=bool)
    if series.dtype == object or str(series.dtype).startswith("string"):
        blank = series.map(lambda v: isinstance(v, str) and not v.strip(), na_action="ignore")
        missing |= blank.fillna(False).to_numpy(dtype=bool)
    return missing


def labels(series: Any, class_names: Any, where: str,
           names: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer labels and class names from a label column (class names or integers; floats and
    empty cells refused). ``names``: the column's own class names (a ``ClassLabel``)."""
    empty = _missing(series)
    if empty.any():
        raise UserError(f"{where}: {_rows(empty)} have no label; fill them or drop the rows")
    import pandas as pd

    # every check on the distinct values (a few classes), then mapped back to the rows
    codes, distinct = pd.factorize(pd.Series(series.to_numpy(dtype=object), dtype=object))
    values = np.asarray(distinct, dtype=object)
    if names is not None:
        values = np.array([names[int(v)] for v in values], dtype=object)
    floats = [isinstance(v, (float, np.floating)) for v in values]
    if any(floats):
        first = floats.index(True)
        i = int(np.flatnonzero(codes == first)[0])
        raise UserError(f"{where}: labels must be class names or integers, but row {i} holds "
                        f"the number {values[first]!r}: a float label column cannot say which "
                        f"class a row is (write the class names or integers)")
    ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)
    text = np.array([str(v) for v in values], dtype=object)
    if class_names is None:
        order = sorted(set(values.tolist()), key=(int if ints else str))
        classes = tuple(str(v) for v in order) if names is None else tuple(
            n for n in names if n in set(text.tolist()))
    else:
        if not isinstance(class_names, (list, tuple)) or not class_names or not all(
                isinstance(c, (str, int)) and not isinstance(c, bool) for c in class_names):
            raise UserError(f"{where}: class_names = {class_names!r} must be a list of class "
                            f"names")
        classes = tuple(str(c) for c in class_names)
        if len(set(classes)) != len(classes):
            raise UserError(f"{where}: class_names {list(classes)} name a class twice")
        outside = ~np.isin(text, np.array(classes, dtype=object))
        if outside.any():
            bad = sorted(set(text[outside].tolist()))[:5]
            raise UserError(f"{where}: label(s) {', '.join(repr(b) for b in bad)} in "
                            f"{_rows(outside[codes])} are not in class_names {list(classes)}; "
                            f"add them or fix the labels")
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[t] for t in text], dtype=np.int64)[codes], classes


def _texts(series: Any, where: str) -> list[str]:
    empty = _missing(series)
    values = series.to_numpy(dtype=object)
    out = [str(v) if not empty[i] else "" for i, v in enumerate(values)]
    if empty.any():
        check_texts([None if e else t for t, e in zip(out, empty)], where)
    return out


def _image_sources(series: Any, base: Path, where: str) -> tuple[list[Any], list[str]]:
    """Files (or bytes, for Hugging Face ``Image`` cells) and the names messages use."""
    values = series.to_numpy(dtype=object)
    if len(values) and isinstance(values[0], dict):  # datasets.Image(decode=False)
        sources: list[Any] = []
        names: list[str] = []
        for i, cell in enumerate(values):
            data = cell.get("bytes") if isinstance(cell, dict) else None
            path = cell.get("path") if isinstance(cell, dict) else None
            if data:
                sources.append(bytes(data))
                names.append(f"{where}, row {i}" + (f" ({path})" if path else ""))
            elif path:
                sources += resolve_paths([path], base, f"{where}, row {i}")
                names.append(str(sources[-1]))
            else:
                raise UserError(f"{where}: row {i} has no image; fill it or drop the row")
        return sources, names
    paths = resolve_paths(list(values), base, where)
    return paths, paths


def build(frame: Any, layout: Layout, *, base: Path, policy: SizePolicy, class_names: Any,
          who: str, source: str, folder_labels: bool = False,
          label_names: Sequence[str] | None = None, predefined: np.ndarray | None = None,
          meta: dict[str, Any] | None = None) -> MultimodalData:
    """The dataset in ``frame`` laid out by ``layout``."""
    where = f"{who} ({source})"
    if len(frame) == 0:
        raise UserError(f"{where}: the table has no rows")
    frame = frame.reset_index(drop=True)
    mods: dict[str, Any] = {}
    digests: dict[str, str] = {}
    sources_of: dict[str, list[Any]] = {}
    for name, col in layout.images.items():
        sources, names = _image_sources(frame[col], base, f"{where}, column {col!r}")
        sources_of[name] = sources
        inverse, firsts = _distinct(sources)  # rows sharing an image decode it once
        every = len(firsts) == len(sources)
        decoded = load_images(sources if every else [sources[i] for i in firsts], policy,
                              names=names if every else [names[i] for i in firsts],
                              description=f"{who}: decoding {len(firsts)} images")
        mods[name] = decoded.images if every else decoded.images[inverse]
        digests[name] = decoded.digest + hashlib.sha256(inverse.tobytes()).hexdigest()
    for name, col in layout.texts.items():
        mods[name] = _texts(frame[col], f"{where}, column {col!r}")
    for name, cols in layout.numeric.items():
        mods[name] = frame[cols].copy()
    if layout.label is not None:
        y, classes = labels(frame[layout.label], class_names, f"{where}, column "
                            f"{layout.label!r}", label_names)
    elif folder_labels and layout.images:
        folders = _folder_names(sources_of[next(iter(layout.images))], base, where)
        import pandas as pd

        y, classes = labels(pd.Series(folders, dtype=object), class_names,
                            f"{where}, sub-folder names")
    else:
        raise UserError(f"{where}: no label column {layout.label or 'label'!r}; set "
                        f"label_column to the column holding each row's class")
    groups = None
    if layout.group is not None:
        gmiss = _missing(frame[layout.group])
        if gmiss.any():
            raise UserError(f"{where}, column {layout.group!r}: {_rows(gmiss)} have no group; "
                            f"fill them or drop the rows")
        import pandas as pd

        groups = pd.factorize(frame[layout.group].astype(str))[0].astype(np.int64)
    if layout.split is not None:
        predefined = _split(frame[layout.split], f"{where}, column {layout.split!r}")
    params = {"size": policy.describe()}
    return MultimodalData(
        modalities=mods, y=y, class_names=classes,
        fingerprint=content_fingerprint(mods, y, classes, kinds=layout.kinds, groups=groups,
                                        predefined_test=predefined, params=params,
                                        digests=digests),
        meta={"source": source, "n": int(len(y)), "modalities": {
            **layout.images, **layout.texts, **layout.numeric}, "label_column": layout.label,
            "group_column": layout.group, "split_column": layout.split,
            "image_size": policy.describe(), **(meta or {})},
        kinds=layout.kinds, groups=groups, predefined_test=predefined)


def _distinct(sources: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's index among the distinct sources (in order of first appearance), and the row
    where each distinct source first appears."""
    import pandas as pd

    inverse = pd.factorize(pd.Series(sources, dtype=object), sort=False)[0].astype(np.int64)
    return inverse, np.unique(inverse, return_index=True)[1]  # codes follow first appearance


def _folder_names(sources: list[Any], base: Path, where: str) -> list[str]:
    import os

    root = os.path.normpath(os.path.abspath(base))
    out = []
    for s in sources:
        parent = None if isinstance(s, bytes) else os.path.dirname(os.path.abspath(s))
        if parent is None or os.path.normpath(parent) == root:
            raise UserError(f"{where}: no label column and {s} is not in a class sub-folder; "
                            f"add a label column or put each image in a folder named after "
                            f"its class")
        out.append(os.path.basename(parent))
    return out


def _split(series: Any, where: str) -> np.ndarray:
    empty = _missing(series)
    if empty.any():
        raise UserError(f"{where}: {_rows(empty)} have no split; write train or test")
    values = np.array([str(v).strip().lower() for v in series.to_numpy(dtype=object)])
    test = np.isin(values, TEST_VALUES)
    other = ~test & ~np.isin(values, TRAIN_VALUES)
    if other.any():
        bad = sorted(set(values[other].tolist()))[:5]
        raise UserError(f"{where}: split value(s) {', '.join(repr(b) for b in bad)} in "
                        f"{_rows(other)}; write train or test (validation counts as train)")
    return test
