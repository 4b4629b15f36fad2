"""Reading a table: CSV, TSV, JSONL or Parquet, or an image folder's ``metadata.csv`` /
``metadata.jsonl``. Text files must be UTF-8 (a byte-order mark is fine); another encoding is
refused, naming it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmbench.errors import UserError

#: File suffix -> format.
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
METADATA = ("metadata.csv", "metadata.jsonl", "metadata.parquet")
_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32-LE"), (b"\x00\x00\xfe\xff", "UTF-32-BE"),
         (b"\xff\xfe", "UTF-16-LE"), (b"\xfe\xff", "UTF-16-BE"))


@dataclass(frozen=True)
class Located:
    """A table to read: the file, its format, the folder image paths are relative to, and
    whether it is an image folder's metadata (labels may then come from sub-folder names)."""

    file: Path
    format: str
    base: Path
    image_folder: bool


def locate(path: Any, who: str) -> Located:
    """Where the table at ``path`` is; a :class:`UserError` for a missing ``path``, a folder
    without metadata or an unknown suffix."""
    if path is None or (isinstance(path, str) and not path.strip()):
        raise UserError(f"{who}: path is required: a CSV, TSV, JSONL or Parquet file, or an "
                        f"image folder holding metadata.csv or metadata.jsonl")
    if not isinstance(path, (str, Path)):
        raise UserError(f"{who}: path = {path!r} must be a file or folder path")
    p = Path(path).expanduser()
    if p.is_dir():
        for name in METADATA:
            if (p / name).is_file():
                return Located(p / name, FORMATS[Path(name).suffix], p, True)
        raise UserError(f"{who}: folder {p} has no {' or '.join(METADATA[:2])}; add one with a "
                        f"file_name column (image paths relative to the folder) and a text "
                        f"and/or label column")
    if not p.exists():
        raise UserError(f"{who}: path {p} does not exist")
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise UserError(f"{who}: {p} is not a table mmbench reads (suffix {p.suffix!r}); use "
                        f"{', '.join(sorted(FORMATS))}")
    return Located(p, fmt, p.parent, False)


def _text(file: Path) -> str:
    raw = file.read_bytes()
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise UserError(f"{file} is {name} encoded; mmbench reads UTF-8 tables: save it as "
                            f"UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = _guess(raw)
        raise UserError(
            f"{file} is not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}"
            f"{'; it looks like ' + guess if guess else ''}); save it as UTF-8") from None


def _guess(raw: bytes) -> str:
    """The encoding ``raw`` is most likely in, by charset-normalizer when installed."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with datasets (requests)
        return ""
    best = from_bytes(raw[:65536]).best()
    return best.encoding if best is not None else ""


def read_table(loc: Located) -> Any:
    """The table as a DataFrame (empty cells are missing values)."""
    import pandas as pd

    try:
        if loc.format == "parquet":
            return pd.read_parquet(loc.file)
        text = _text(loc.file)
        if loc.format == "jsonl":
            if not text.strip():
                return pd.DataFrame()
            return pd.read_json(io.StringIO(text), lines=True, dtype=False)
        if not text.strip():
            return pd.DataFrame()
        return pd.read_csv(io.StringIO(text), sep="\t" if loc.format == "tsv" else ",")
    except UserError:
        raise
    except Exception as exc:  # pandas/pyarrow parse errors of many types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot read {loc.file} as {loc.format.upper()} ({first}); fix the "
                        f"file") from None


def stamp(loc: Located) -> tuple[int, int]:
    """The table file's size and mtime (to tell whether a frame read earlier is still it)."""
    st = loc.file.stat()
    return st.st_size, st.st_mtime_ns


def header(loc: Located) -> list[str]:
    """The column names of a Parquet file (read from its schema only)."""
    if loc.format == "parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(loc.file).names
            return [n for n in names if not n.startswith("__index_level_")]
        except Exception as exc:
            raise UserError(f"cannot read {loc.file} as PARQUET ({exc}); fix the file") from None
    raise ValueError("header() reads Parquet schemas; read other tables with read_table()")
