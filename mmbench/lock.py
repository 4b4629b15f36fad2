"""One writer at a time: an exclusive lock on a file, naming its holder.

``mmbench run`` holds ``results/<suite>/run.lock`` while it writes records (a Dask run: the
client, which writes every record, holds it); a second run on the same folder refuses with a
message naming the holder, or waits for it (``--wait``). Read-only commands take no lock.
:func:`mmbench.download.download` uses the same lock so two processes never append to one
partial download.

The lock is an OS lock (``flock``; ``msvcrt.locking`` on Windows) on an open file, so the
kernel releases it when its process dies, even by SIGKILL: a lock file left behind by a dead
run is not held, and the next run takes it over with a note. The file holds the holder's pid,
host, start time and command, for messages only. Where the filesystem offers no locks, the pid
and host decide: a lock of a live process on this host, or of any process on another host,
is respected (a lock from another host whose run is gone must be deleted by hand).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import UserError


class LockedError(UserError):
    """The lock is held by another process (and we were not asked to wait)."""


def holder_alive(info: dict[str, Any]) -> bool | None:
    """Whether the process named by a lock file's ``info`` still runs: None when it cannot be
    known (another host, or no pid)."""
    if info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
        return None
    import psutil

    try:
        proc = psutil.Process(info["pid"])
        started = proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.Error:  # exists, but we may not look at it
        return True
    # a recycled pid: the process that took the lock started before its lock was written
    return not isinstance(info.get("created"), (int, float)) or started <= info["created"] + 1


def describe_holder(info: dict[str, Any]) -> str:
    """``mmbench run (pid 1234, started 18:20 on host X)``, from what is known."""
    what = info.get("command") or "another process"
    bits = [f"pid {info['pid']}"] if "pid" in info else []
    when = ""
    if isinstance(info.get("created"), (int, float)):
        started = datetime.fromtimestamp(info["created"])
        fmt = "%H:%M" if started.date() == datetime.now().date() else "%Y-%m-%d %H:%M"
        when = f"started {started.strftime(fmt)}"
    if info.get("host"):
        when = f"{when} on host {info['host']}".strip()
    bits += [when] if when else []
    return f"{what} ({', '.join(bits)})" if bits else what


class FileLock:
    """An exclusive lock on ``path`` (created, and removed on release).

    :param what: names the guarded thing in messages (``results/t``).
    :param command: how the holder is described to others (``mmbench run suite.toml``).
    :param advice: what a refused process should do, appended to the refusal.
    """

    def __init__(self, path: Path, *, what: str, command: str = "",
                 advice: str = "wait for it or use --wait") -> None:
        self.path = Path(path)
        self.what = what
        self.command = command or " ".join(["mmbench", *sys.argv[1:2]]).strip()
        self.advice = advice
        self.notes: list[str] = []
        self._fd: int | None = None

    def acquire(self, wait: bool = False, notify: Callable[[str], None] | None = None,
                poll_s: float = 0.5) -> None:
        """Take the lock, or raise :class:`LockedError` naming its holder; with ``wait``,
        say who holds it (through ``notify``) and block until it is free."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                got = _try_lock(fd)
                info = _read(fd)
                by_pid = got is None
                if by_pid:  # no OS locks here: the holder's pid and host decide
                    got = not info or holder_alive(info) is False
                if got and _same_file(fd, self.path):
                    self._fd, fd = fd, -1
                    self._claim(info)
                    return
            finally:
                if fd != -1:
                    os.close(fd)
            if not got:
                message = self._refusal(info, by_pid)
                if not wait:
                    raise LockedError(message)
                if not told and notify is not None:
                    notify(f"waiting: {message.split(';')[0]}")
                told = True
            time.sleep(poll_s if not got else 0)

    def _refusal(self, info: dict[str, Any], by_pid: bool) -> str:
        held = f"{self.what} is being written by {describe_holder(info)}"
        if by_pid:  # the pid of another host cannot be checked from here
            return (f"{held}; {self.advice}. If that run is no longer running, delete "
                    f"{self.path}")
        if info and holder_alive(info) is False:
            held += (" — that process is gone, but a process it started still holds the lock "
                     f"{self.path}")
        return f"{held}; {self.advice}"

    def _claim(self, previous: dict[str, Any]) -> None:
        """Write who holds the lock now; note a lock file left by a run that died."""
        if previous:
            self.notes.append(
                f"took over the lock {self.path} left by {describe_holder(previous)}, "
                "which ended without releasing it")
        assert self._fd is not None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "created": time.time(),
                "command": self.command}
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, json.dumps(info).encode())
        with contextlib.suppress(OSError):
            os.fsync(self._fd)

    def release(self) -> None:
        """Remove the lock file, then let go of the lock (a waiter then retries on a new file)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _try_lock(fd: int) -> bool | None:
    """True: locked; False: another process holds it; None: this filesystem has no locks."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return None
        raise
    return True


def _read(fd: int) -> dict[str, Any]:
    """The holder's info from the lock file (``{}`` when empty or unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536)
        info = json.loads(raw) if raw.strip() else {}
    except (OSError, ValueError):
        return {"command": "an unknown process"}
    return info if isinstance(info, dict) else {"command": "an unknown process"}


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` locked (a releasing holder unlinks it)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False
