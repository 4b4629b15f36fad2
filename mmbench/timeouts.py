"""Per-cell time limits (suite ``cell_timeout``, ``mmbench run --cell-timeout``).

A :class:`~mmbench.tasks.CellTask` carries its ``timeout`` in seconds; executors enforce it:

- the local process pool kills the worker process running a cell past its limit (other cells
  in flight on the pool are started again on fresh workers) and reports :class:`CellTimeout`;
- the Dask executor releases the cell's future and restarts the worker that runs it (through
  its nanny), then reports :class:`CellTimeout`;
- in this process (``n_jobs = 1``) a limit is enforced only for code that returns to the Python
  interpreter (``SIGALRM``, main thread, POSIX): a plugin stuck in native code cannot be
  stopped from inside its own process, so the runner says so and advises ``--n-jobs 2``.

The cell is then recorded as failed, "timed out after N s", and the run goes on.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .errors import MmbenchError


class CellTimeout(MmbenchError):
    """A cell ran past its time limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"timed out after {seconds:g} s (cell_timeout); raise the limit "
                         "(suite field cell_timeout, or --cell-timeout) if the cell is just slow")

    def __reduce__(self) -> tuple[type, tuple[float]]:  # raised in a worker, re-raised here
        return (CellTimeout, (self.seconds,))


def in_process_enforceable() -> bool:
    """Whether :func:`alarm` can interrupt a cell in this thread."""
    return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()


@contextmanager
def alarm(seconds: float | None) -> Iterator[None]:
    """Raise :class:`CellTimeout` in this (main) thread after ``seconds``; nothing when None or
    where signals are not available."""
    if not seconds or not in_process_enforceable():
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise CellTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_timeout(value: float | None) -> float | None:
    """``--cell-timeout``: a positive, finite number of seconds (else a UserError)."""
    import math

    from .errors import UserError

    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"--cell-timeout must be a positive number of seconds, got {value:g}")
    return value
