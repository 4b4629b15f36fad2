"""Folders and files mmbench will write, checked before any work: a read-only results folder
or cache, a folder given where a file is meant, a dangling symbolic link, each get one line
saying what and how to fix it, instead of an ``OSError`` after minutes of featurizing."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import UserError


def require_writable_dir(folder: Path, what: str, advice: str) -> None:
    """Raise :class:`UserError` unless ``folder`` can be created (its nearest existing ancestor
    is a writable folder) or is a folder this process can write into."""
    folder = Path(folder)
    probe = folder
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        probe = probe.parent
    if probe.is_symlink() and not probe.exists():
        raise UserError(f"{what} {folder}: {probe} is a symbolic link to "
                        f"{os.readlink(probe)}, which does not exist; {advice}")
    if not probe.is_dir():
        raise UserError(f"{what} {folder}: {probe} is a file, not a folder; {advice}")
    if not os.access(probe, os.W_OK | os.X_OK):
        owner = _owner(probe)
        raise UserError(f"{what} {folder} is not writable ({probe} is read-only for this user"
                        f"{owner}); {advice}")


def _owner(path: Path) -> str:
    try:
        import pwd

        uid = path.stat().st_uid
        if uid != os.getuid():
            return f"; it belongs to {pwd.getpwuid(uid).pw_name}"
    except (ImportError, KeyError, OSError, AttributeError):
        pass
    return ""


def output_file(path: Path | str, what: str) -> Path:
    """``path`` as a file mmbench may (over)write: not a folder, not a dangling symbolic link,
    in a folder that is writable; else one :class:`UserError` line. Returns the file to
    write (a symbolic link's target)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name, e.g. "
                        f"{path / ('report.html' if what == 'report' else 'leaderboard.csv')}")
    if path.is_symlink() and not path.exists():
        raise UserError(f"{what} {path} is a symbolic link to {os.readlink(path)}, which does "
                        "not exist; remove the link or give another file name")
    target = path.resolve() if path.is_symlink() else path
    store = target.resolve().parent
    if store.name in ("cells", "predictions", "superseded") and (
            store.parent / "mmbench-store.json").is_file():
        raise UserError(f"{what} {path} would be written among the records of the results "
                        f"folder {store.parent}; give a file name outside {store}")
    require_writable_dir(target.parent, f"{what}: the folder of", "write it somewhere else")
    if target.exists() and not os.access(target, os.W_OK):
        raise UserError(f"{what} {path} exists and is read-only; give another file name")
    return target  # a link to a file: that file is rewritten, the link kept
