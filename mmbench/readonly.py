"""What a plugin is given, it cannot change: every array handed to a plugin is read-only.

Dataset samples and labels are frozen once, as they are loaded (:func:`freeze_data`); feature
matrices, views and labels are frozen before a featurizer, fusion or classifier sees them
(:func:`plugin_input`). A list (the captions of a text modality) cannot be frozen and stays a
list, as the contract promises: each call gets its own copy, so rewriting it changes nothing
anyone else sees. A plugin that writes into a read-only array meets numpy's ``ValueError``;
:func:`guard` turns it into an :class:`InputWriteError` (a user error: exit code 2, nothing
recorded for the cells it touches) naming the plugin and the array.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from .errors import PluginOutputError


class InputWriteError(PluginOutputError):
    """A plugin wrote (or tried to write) into an array mmbench gave it; nothing of the cells
    it touched is recorded."""


def freeze(array: np.ndarray) -> np.ndarray:
    """``array`` itself, made read-only."""
    if array.flags.writeable:
        array.flags.writeable = False
    return array


def freeze_data(data: Any) -> Any:
    """Make every array of a loaded dataset read-only, in place: the arrays among its fields
    and in its mappings (``modalities``). Returns ``data``."""
    fields = dataclasses.fields(data) if dataclasses.is_dataclass(data) else ()
    for f in fields:
        value = getattr(data, f.name)
        if isinstance(value, np.ndarray):
            freeze(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                if isinstance(item, np.ndarray):
                    freeze(item)
                elif isinstance(getattr(item, "distinct", None), np.ndarray):  # SharedSamples
                    freeze(item.distinct)
    return data


def plugin_input(value: Any) -> Any:
    """What a plugin gets for ``value``: an array as a read-only view of itself (frozen too,
    so the view cannot be made writeable again), a list or a table (``DataFrame``) as a copy,
    anything else as is."""
    if isinstance(value, np.ndarray):
        return freeze(value).view()
    if isinstance(value, list):
        return list(value)
    if hasattr(value, "iloc") and hasattr(value, "copy"):  # a table (pandas): its own copy
        return value.copy()
    return value


def describe(value: Any) -> str:
    """``uint8[120, 32, 32, 3]``."""
    return f"{value.dtype}[{', '.join(map(str, value.shape))}]"


def is_write_refused(exc: BaseException) -> bool:
    """Whether ``exc`` is numpy (or a compiled extension) refusing to write a read-only array."""
    text = str(exc)
    return isinstance(exc, ValueError) and (
        "read-only" in text or "WRITEABLE flag to True" in text)


@contextmanager
def guard(who: str, inputs: Mapping[str, Any]) -> Iterator[None]:
    """Run a plugin call; a refused write into one of ``inputs`` (description -> the array
    handed over) becomes an :class:`InputWriteError` naming ``who`` and the array (a refused
    write into an array of the plugin's own stays the plugin's exception)."""
    try:
        yield
    except ValueError as exc:
        if not is_write_refused(exc):
            raise
        arrays = {k: v for k, v in inputs.items() if isinstance(v, np.ndarray)}
        names = written(exc.__traceback__, arrays)
        if not names:  # a read-only array of the plugin's own: its failure, not ours
            raise
        target = (f"{names[0]} {describe(arrays[names[0]])}" if len(names) == 1
                  else "one of " + ", ".join(names))
        raise InputWriteError(
            f"{who} wrote into {target}, which is read-only ({exc}): mmbench hands every "
            f"plugin read-only arrays shared with other cells and the feature cache; copy "
            f"before changing one (X = np.array(X))") from exc


_ASSIGN = re.compile(r"(.*?[^=!<>])(?:\*\*|//|>>|<<|[-+*/%&|^@])?=(?!=)")
_WORD = re.compile(r"[A-Za-z_]\w*|'[^']*'|\"[^\"]*\"")


def written(tb: types.TracebackType | None, inputs: Mapping[str, np.ndarray]) -> list[str]:
    """Which of ``inputs`` a failed write aimed at, from the innermost frame that holds one
    (as a local, or inside a local dict/list such as ``views``), told apart by the names on the
    left of the failing statement's assignment (the whole statement for a call such as
    ``np.multiply(X, 2, out=X)``). Every candidate of that frame when its source cannot be
    read; none when no frame holds one or the statement names none (the write went into an
    array of the plugin's own)."""
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    for frame_tb in reversed(frames):
        frame = frame_tb.tb_frame
        found: list[tuple[str, str, Any]] = []  # (input, local name, key inside the local)
        for local, value in frame.f_locals.items():
            items = value.items() if isinstance(value, Mapping) else (
                enumerate(value) if isinstance(value, list | tuple) else [(None, value)])
            for key, item in items:
                for name, arr in inputs.items():
                    if isinstance(item, np.ndarray) and np.may_share_memory(item, arr):
                        found.append((name, local, key))
        names = list(dict.fromkeys(n for n, _, _ in found))
        if not names:
            continue
        import linecache

        line = linecache.getline(frame.f_code.co_filename, frame_tb.tb_lineno).strip()
        match = _ASSIGN.match(line)
        left = match.group(1) if match and match.group(1).count("(") <= match.group(
            1).count(")") else line
        words = set(_WORD.findall(left))
        values = [frame.f_locals[w] for w in words if w in frame.f_locals]
        hits = [n for n, local, key in found if local in words and (
            key is None or repr(key) in words or f'"{key}"' in words
            or any(v == key for v in values if isinstance(v, str | int)))]
        if not line:  # no source to read: every candidate
            return names
        return list(dict.fromkeys(hits))  # none: the statement wrote into something else
    return []
