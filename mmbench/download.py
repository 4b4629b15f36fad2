"""Downloading a file once, safely: stream to a temp file, verify its checksum, rename.

Any plugin may use :func:`download`. A partial or corrupt download never takes the place of
``dest``: the bytes go to a temp file beside it, and only a verified file is renamed over it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO, Self

from .errors import DataMissingError, UserError

_CHUNK = 1 << 20
#: Seconds to wait for the server to answer or send the next bytes.
TIMEOUT_S = 60.0


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
    desc = desc or dest.name
    hashes = {"md5": hashlib.md5(), "sha256": hashlib.sha256()}
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
                    total = int(resp.headers.get("Content-Length") or 0) or None
                    _copy(resp, out, hashes, total, desc)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    reason: object = f"HTTP {exc.code} {exc.reason}"
                else:
                    reason = getattr(exc, "reason", None) or exc
                msg = f"could not download {desc} from {url}: {reason}."
                raise DataMissingError(f"{msg} {hint}".strip()) from exc
        for name, expected in (("md5", md5), ("sha256", sha256)):
            actual = hashes[name].hexdigest()
            if expected and actual.lower() != expected.lower():
                raise UserError(
                    f"{name} mismatch for {url}: expected {expected.lower()}, got {actual}; "
                    f"the download was deleted. Retry, or fetch the file by other means."
                )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _copy(
    resp: BinaryIO, out: BinaryIO, hashes: dict[str, Any], total: int | None, desc: str
) -> None:
    """Copy ``resp`` to ``out`` in chunks, updating ``hashes``; a progress bar on a terminal."""
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
    with bar:
        task = bar.add_task(f"downloading {desc}", total=total)
        while chunk := resp.read(_CHUNK):
            out.write(chunk)
            for h in hashes.values():
                h.update(chunk)
            bar.advance(task, len(chunk))


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
