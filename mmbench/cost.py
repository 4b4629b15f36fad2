"""Cost of a cell: peak resident memory while a step runs, sampled by a background thread.

``PeakRSS`` records the process's resident set size (RSS, via psutil) before the step and
samples it every ``interval`` seconds while the step runs; ``delta_mb`` is the peak minus the
starting RSS. It sees native allocations (numpy, torch, xgboost) as well as Python's, costs
nothing measurable in time, and misses only spikes shorter than the interval. Memory that was
already resident before the step (cached features, earlier cells) is not counted.
"""

from __future__ import annotations

import threading
from types import TracebackType

MB = 1024 * 1024


class PeakRSS:
    """``with PeakRSS() as peak: step()`` then ``peak.delta_mb``."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.start = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rss(self) -> int:
        return int(self._proc.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRSS:
        import psutil

        self._proc = psutil.Process()
        self.start = self.peak = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def delta_mb(self) -> float:
        """Peak RSS during the step minus RSS before it, in MiB (>= 0)."""
        return max(self.peak - self.start, 0) / MB
