"""Reading the easy-VQA data folder (``answers.txt``, ``{train,test}/questions.json``,
``{train,test}/images/<id>.png``): every damaged or missing file is one line naming it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmbench.errors import DataMissingError, UserError

PARTS = ("train", "test")


def package_data_dir() -> Path:
    """The data folder of the installed ``easy_vqa`` package."""
    try:
        import easy_vqa
    except ImportError:
        raise DataMissingError(
            "easy-vqa: the easy_vqa package is not installed; run: pip install easy-vqa "
            "(or give data_dir = a copy of its data folder)") from None
    return Path(easy_vqa.__file__).parent / "data"


def read_answers(folder: Path) -> tuple[str, ...]:
    """The class names, in ``answers.txt`` order."""
    path = folder / "answers.txt"
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"easy-vqa: cannot read {path}: {exc}") from None
    names = [n for n in names if n]
    if len(names) < 2 or len(set(names)) != len(names):
        raise UserError(f"easy-vqa: {path} must list at least two distinct answers, one a "
                        f"line; it has {len(names)} ({len(set(names))} distinct)")
    return tuple(names)


def read_questions(folder: Path, part: str) -> list[tuple[str, str, int]]:
    """(question, answer, image id) triples of ``part``."""
    path = folder / part / "questions.json"
    try:
        rows: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"easy-vqa: cannot read the questions file {path}: "
                        f"{type(exc).__name__}: {exc}") from None
    ok = isinstance(rows, list) and all(
        isinstance(r, list) and len(r) == 3 and isinstance(r[0], str) and isinstance(r[1], str)
        and isinstance(r[2], int) and not isinstance(r[2], bool) for r in rows)
    if not ok:
        raise UserError(f"easy-vqa: the questions file {path} is not a list of "
                        f"[question, answer, image_id] entries")
    return [(r[0], r[1], r[2]) for r in rows]


def image_path(folder: Path, part: str, image_id: int) -> Path:
    return folder / part / "images" / f"{image_id}.png"


def check_images_exist(paths: list[Path]) -> None:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise UserError(f"easy-vqa: image file {missing[0]} is missing{more} (a question refers "
                        f"to it); reinstall easy-vqa or restore the file")
