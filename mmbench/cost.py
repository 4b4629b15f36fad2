"""Cost of a cell: peak resident memory while a step runs.

On Linux the kernel keeps the process's peak resident set size (``VmHWM``); ``PeakRSS`` resets it
before the step (``/proc/self/clear_refs``, value 5) and reads it after, which is exact, sees
native allocations (numpy, torch, xgboost) as well as Python's, and costs nothing while the step
runs. (It also resets the peak that ``getrusage`` reports for this process.) Elsewhere a
background thread samples the RSS (psutil) every ``interval`` seconds and misses only spikes
shorter than that. ``delta_mb`` is the peak minus the RSS before the step: memory already
resident (cached features, earlier cells) is not counted.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import TracebackType

MB = 1024 * 1024
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _kernel_peak() -> int | None:
    """The kernel's peak RSS of this process in bytes, or None where there is none."""
    try:
        found = re.search(r"VmHWM:\s+(\d+)\s+kB", STATUS.read_text())
    except OSError:
        return None
    return int(found.group(1)) * 1024 if found else None


def _reset_kernel_peak() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _kernel_peak() is not None


class PeakRSS:
    """``with PeakRSS() as peak: step()`` then ``peak.delta_mb``."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._kernel = False

    def _rss(self) -> int:
        return int(self._proc.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.start = self.peak = self._rss()
        self._kernel = _reset_kernel_peak()
        if not self._kernel:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        peak = _kernel_peak() if self._kernel else None
        self.peak = max(self.peak, self._rss(), peak or 0)

    @property
    def delta_mb(self) -> float:
        """Peak RSS during the step minus RSS before it, in MiB (>= 0)."""
        return max(self.peak - self.start, 0) / MB
