"""Downloading a file once, safely: resumable, checksum-verified, renamed into place.

Any plugin may use :func:`download`. The bytes go to ``.<name>.part`` beside ``dest``; only a
complete, verified file is renamed over ``dest`` (then the folder is synced), so an interrupted,
truncated or tampered download never takes its place. A transfer that breaks off once the server
has answered is resumed with an HTTP ``Range`` request (``If-Range`` guards against a file that
changed meanwhile); a server that ignores ``Range`` sends the whole file again, which replaces
the partial one. A ``.part`` left by an earlier, interrupted call is resumed when a checksum is
given (which then verifies the whole; on a mismatch the file is fetched once more from the
start), else discarded. Two processes downloading the same ``dest`` take turns (a lock file).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO, Self

from .cache import fsync_dir
from .errors import DataMissingError, UserError
from .lock import FileLock

_CHUNK = 1 << 20
#: Seconds to wait for the server to answer or send the next bytes.
TIMEOUT_S = 60.0
#: Tries per download: a transfer that breaks off once the server has answered is resumed
#: (a server that cannot be reached at all ends the download at once: offline).
ATTEMPTS = 5
#: Seconds before the n-th retry: RETRY_S * n.
RETRY_S = 0.5


class _BrokeOff(Exception):
    """The transfer ended early; ``retry``: whether trying again may help."""

    def __init__(self, reason: object, retry: bool) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.retry = retry


def is_offline_error(exc: BaseException) -> bool:
    """True when ``exc`` means the server could not be reached or the transfer broke off
    (no network, DNS failure, refused connection, timeout), as opposed to an answer such as 404."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    if isinstance(exc, urllib.error.URLError):
        return isinstance(exc.reason, OSError)
    return isinstance(exc, (OSError, socket.timeout, http.client.HTTPException))


def download(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    desc: str | None = None,
    hint: str = "",
) -> Path:
    """Fetch ``url`` into ``dest`` and return ``dest``.

    :param md5: / :param sha256: expected hex digest(s); a mismatch deletes the download and
        raises :class:`UserError` naming the URL, the expected and the actual digest.
    :param desc: a short name for the progress bar and messages (default: the file name).
    :param hint: appended to the :class:`DataMissingError` raised when the URL cannot be
        fetched: say how the user can provide the file without a network.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    expected = {k: v.lower() for k, v in (("md5", md5), ("sha256", sha256)) if v}
    lock = FileLock(dest.parent / f".{dest.name}.lock", what=f"the download of {dest}",
                    command=f"a download of {url}")
    lock.acquire(wait=True)  # another process fetching the same file: take turns
    try:
        _download(url, dest, expected, desc or dest.name, hint)
    finally:
        lock.release()
    return dest


def _download(url: str, dest: Path, expected: dict[str, str], desc: str, hint: str) -> None:
    part = dest.parent / f".{dest.name}.part"
    if part.exists() and not expected:  # nothing could verify a resumed whole
        part.unlink()
    resumed = part.exists()
    try:
        hashes = _fetch(url, part, desc, hint, bool(expected))
        if resumed and _mismatch(hashes, expected):  # a bad leftover: once more from the start
            part.unlink()
            hashes = _fetch(url, part, desc, hint, True)
        wrong = _mismatch(hashes, expected)
        if wrong:
            name, actual = wrong
            part.unlink()
            raise UserError(
                f"{name} mismatch for {url}: expected {expected[name]}, got {actual}; "
                f"the download was deleted. Retry, or fetch the file by other means."
            )
        os.replace(part, dest)
        fsync_dir(dest.parent)
    except BaseException:
        if part.exists() and (not expected or part.stat().st_size == 0):
            part.unlink()  # nothing a later call could resume
        raise


def _mismatch(hashes: dict[str, Any], expected: dict[str, str]) -> tuple[str, str] | None:
    """(algorithm, actual digest) of the first expected digest that differs, else None."""
    for name, want in expected.items():
        actual = hashes[name].hexdigest()
        if actual != want:
            return name, actual
    return None


def _fetch(url: str, part: Path, desc: str, hint: str, keep: bool) -> dict[str, Any]:
    """Complete ``part`` from ``url`` (resuming what it holds), retrying a transfer that breaks
    off; return the hashes of the whole file. Raises DataMissingError (which
    says the partial file is kept when ``keep``)."""
    validator: str | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            hashes, validator = _one_try(url, part, desc, validator)
            return hashes
        except urllib.error.HTTPError as exc:
            msg = f"could not download {desc} from {url}: HTTP {exc.code} {exc.reason}."
            raise DataMissingError(f"{msg} {hint}".strip()) from exc
        except _BrokeOff as exc:
            if not exc.retry or attempt == ATTEMPTS:
                size = part.stat().st_size if part.exists() else 0
                tail = (f" The {size} bytes received are kept in {part}; the next try "
                        "resumes from there." if keep and size else "")
                msg = f"could not download {desc} from {url}: {exc.reason}.{tail}"
                raise DataMissingError(f"{msg} {hint}".strip()) from exc.__cause__ or exc
            time.sleep(RETRY_S * attempt)
    raise AssertionError("unreachable")


def _one_try(url: str, part: Path, desc: str,
             validator: str | None) -> tuple[dict[str, Any], str | None]:
    """One request: ask for the bytes after ``part``'s (with ``If-Range: validator``), append
    them, or start over if the server sends the whole file. Returns (hashes, validator)."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
        if validator:
            request.add_header("If-Range", validator)
    try:
        resp = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the leftover is not a prefix of this file
            part.unlink()
            raise _BrokeOff("the server refused to resume (HTTP 416)", True) from exc
        raise
    except urllib.error.URLError as exc:  # no connection: offline, DNS, refused
        raise _BrokeOff(exc.reason, False) from exc
    except (OSError, http.client.HTTPException) as exc:  # connected, then cut off
        raise _BrokeOff(exc, True) from exc
    with resp:
        span = _content_range(resp.headers.get("Content-Range"))
        if offset and resp.status == 206 and span and span[0] == offset:
            mode, total = "ab", span[1]
        elif resp.status == 206:  # some other range: of no use, start over
            part.unlink(missing_ok=True)
            raise _BrokeOff(f"the server sent the wrong range ({span}) to resume at {offset}",
                            True)
        else:  # a whole file: the server ignored Range, or the file changed (If-Range)
            offset, mode = 0, "wb"
            total = int(resp.headers.get("Content-Length") or 0) or None
        etag = resp.headers.get("ETag")
        validator = etag if etag and not etag.startswith("W/") else (
            resp.headers.get("Last-Modified") or None)
        hashes = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
        if offset:
            with open(part, "rb") as old:
                while chunk := old.read(_CHUNK):
                    for h in hashes.values():
                        h.update(chunk)
        with open(part, mode) as out:
            try:
                got = _copy(resp, out, hashes, total, desc, offset)
            except (OSError, http.client.HTTPException) as exc:
                raise _BrokeOff(exc, True) from exc
            finally:
                out.flush()
                os.fsync(out.fileno())
    if total is not None and offset + got != total:
        raise _BrokeOff(f"the connection closed after {offset + got} of {total} bytes", True)
    return hashes, validator


def _content_range(value: str | None) -> tuple[int, int | None] | None:
    """(first byte, total size or None) of a ``Content-Range: bytes a-b/n`` header."""
    m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", (value or "").strip())
    if not m:
        return None
    return int(m.group(1)), None if m.group(3) == "*" else int(m.group(3))


def _copy(
    resp: BinaryIO, out: BinaryIO, hashes: dict[str, Any], total: int | None, desc: str,
    done: int = 0,
) -> int:
    """Copy ``resp`` to ``out`` in chunks, updating ``hashes``; a progress bar (starting at
    ``done`` bytes) on a terminal. Returns the number of bytes copied."""
    progress: Any = None
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        progress = Progress(
            *Progress.get_default_columns(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    bar: Any = progress or _NoProgress()
    copied = 0
    with bar:
        task = bar.add_task(f"downloading {desc}", total=total, completed=done)
        while chunk := resp.read1(_CHUNK):  # what has arrived: kept even if the rest is not
            out.write(chunk)
            copied += len(chunk)
            for h in hashes.values():
                h.update(chunk)
            bar.advance(task, len(chunk))
    return copied


class _NoProgress:
    """Stands in for a rich ``Progress`` when stderr is not a terminal."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: object, **kwargs: object) -> int:
        return 0

    def advance(self, task: int, n: int) -> None:
        return None
