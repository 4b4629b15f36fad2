"""Reading the caption file (``captions.csv`` or the Fomo-in-Flux JSON) and matching it to the
images: through ``test_index`` for the official batches, through ``path`` for JPEG folders.
Every image must have exactly one row with the same label and a non-empty caption."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmbench.errors import UserError

from .images import TestImages
from .names import CLASS_NAMES

CSV_COLUMNS = ("path", "label", "caption", "primer_caption", "test_index")
_JSON_KEY = re.compile(r"cifar-10-images-test/(\d+)\.png")
_SHOW = 5  # how many offending samples a message names


@dataclass(frozen=True)
class CaptionRow:
    """One test image's captions; ``where`` locates the row for error messages."""

    test_index: int
    label: int
    caption: str
    primer_caption: str
    path: str | None  # JPEG path relative to the extracted archive; None in the JSON
    where: str


def read_captions(path: Path) -> list[CaptionRow]:
    """All rows of a ``captions.csv`` or a Fomo-in-Flux ``CIFAR10_test.json[.gz]``."""
    try:
        if path.suffix == ".csv":
            return _read_csv(path)
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            return _from_json(path, json.load(f))
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise UserError(f"cannot read captions file {path}: {exc}") from exc


def _label(value: str, where: str) -> int:
    if value in CLASS_NAMES:
        return CLASS_NAMES.index(value)
    if value.isdigit() and int(value) < len(CLASS_NAMES):
        return int(value)
    raise UserError(f"{where}: label {value!r} is not one of {list(CLASS_NAMES)}")


def _read_csv(path: Path) -> list[CaptionRow]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path} line 1 (header): missing column(s) {missing}; expected "
                            f"{list(CSV_COLUMNS)}")
        rows = []
        for r in reader:
            where = f"{path.name} line {reader.line_num}"
            extra = r.get(None) or []  # type: ignore[call-overload]
            short = [k for k, v in r.items() if k is not None and v is None]
            if extra or short:  # more or fewer fields than the header
                header = len(reader.fieldnames or [])
                raise UserError(
                    f"{where}: {header + len(extra) - len(short)} field(s) but the header has "
                    f"{header}; quote a caption that contains a comma")
            idx = (r["test_index"] or "").strip()
            if not idx.isdigit():
                raise UserError(f"{where}: test_index {idx!r} is not a non-negative integer")
            rows.append(
                CaptionRow(
                    int(idx),
                    _label((r["label"] or "").strip(), where),
                    r["caption"] or "",
                    r["primer_caption"] or "",
                    (r["path"] or "").strip().removeprefix("./") or None,
                    where,
                )
            )
    return rows


def _from_json(path: Path, obj: object) -> list[CaptionRow]:
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a JSON object keyed 'cifar-10-images-test/<i>.png'")
    rows = []
    for key, entry in obj.items():
        where = f"{path.name} entry {key!r}"
        m = _JSON_KEY.fullmatch(key)
        try:
            target, synthetic = int(entry["target"]), entry["synthetic_caption"]
            primer, classname = entry["primer_caption"] or "", entry["classname"]
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{where}: missing or bad field ({exc})") from exc
        if m is None or not 0 <= target < len(CLASS_NAMES) or classname != CLASS_NAMES[target]:
            raise UserError(f"{where}: not a CIFAR-10 test caption (key, target, classname)")
        caption = synthetic[0] if isinstance(synthetic, list) and synthetic else ""
        rows.append(CaptionRow(int(m.group(1)), target, caption or "", primer, None, where))
    return rows


def align(
    rows: list[CaptionRow], imgs: TestImages, column: str, source: Path
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Match caption rows to images. Returns, in official test order (by ``test_index``), the
    images' positions in ``imgs``, the test indices and the texts of ``column``."""
    rows = sorted(rows, key=lambda r: r.test_index)
    dup = [a.test_index for a, b in itertools.pairwise(rows) if a.test_index == b.test_index]
    if dup:
        raise UserError(f"{source}: test_index repeated in several rows: {_few(dup)}")
    by_path = bool(imgs.keys) and isinstance(imgs.keys[0], str)
    if by_path and any(r.path is None for r in rows):
        rows = _with_derived_paths(rows)
    pos_of = {k: i for i, k in enumerate(imgs.keys)}
    keys = [r.path if by_path else r.test_index for r in rows]
    what = "path" if by_path else "test_index"
    stray = [f"{r.where} ({what} {k})" for r, k in zip(rows, keys) if k not in pos_of]
    if stray:
        raise UserError(
            f"{source}: {len(stray)} caption row(s) name images that do not exist: "
            f"{_few(stray)}. Remove those rows (one row per image, no more)."
        )
    covered = set(keys)
    uncaptioned = [k for k in imgs.keys if k not in covered]
    if uncaptioned:
        raise UserError(
            f"{source}: {len(uncaptioned)} image(s) have no caption row ({what}): "
            f"{_few(uncaptioned)}. The captions file must cover every test image."
        )
    pos = np.fromiter((pos_of[k] for k in keys), dtype=np.int64, count=len(keys))
    bad = [r for r, p in zip(rows, pos) if imgs.labels[p] != r.label]
    if bad:
        shown = [
            f"{r.where}: {CLASS_NAMES[r.label]} vs image {CLASS_NAMES[imgs.labels[p]]}"
            for r, p in zip(rows, pos)
            if imgs.labels[p] != r.label
        ][:_SHOW]
        raise UserError(
            f"{source}: {len(bad)} caption row(s) disagree with their image's "
            f"label: {'; '.join(shown)}"
        )
    texts = [getattr(r, column) for r in rows]
    empty = [f"{r.where} ({what} {k})" for r, k, t in zip(rows, keys, texts) if not t.strip()]
    if empty:
        raise UserError(f"{source}: {len(empty)} empty {column!r} text(s): {_few(empty)}")
    index = np.asarray([r.test_index for r in rows], dtype=np.int64)
    return pos, index, texts


def _with_derived_paths(rows: list[CaptionRow]) -> list[CaptionRow]:
    """JSON rows carry no path: within a class folder the JPEGs follow the official test order,
    so the k-th test image of class c is ``test/<c>/<k:04d>.jpg`` (rows sorted by index)."""
    seen = [0] * len(CLASS_NAMES)
    out = []
    for r in rows:
        name = CLASS_NAMES[r.label]
        out.append(
            CaptionRow(
                r.test_index,
                r.label,
                r.caption,
                r.primer_caption,
                r.path or f"test/{name}/{seen[r.label]:04d}.jpg",
                r.where,
            )
        )
        seen[r.label] += 1
    return out


def _few(items: list) -> str:  # type: ignore[type-arg]
    head = ", ".join(str(x) for x in items[:_SHOW])
    return head + (f" ... ({len(items) - _SHOW} more)" if len(items) > _SHOW else "")
