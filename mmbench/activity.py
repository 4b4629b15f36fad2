"""What is running now: cells (name, where, elapsed) and featurizations (steps done).

The progress display shows each running activity as a row with its elapsed time; without a
terminal (CI logs, ``nohup``) a background thread prints one line every ``MMBENCH_HEARTBEAT_S``
seconds (default 60) naming what is still running and for how long, so a long featurization
or a hung plugin is visible in the log while it happens.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_INTERVAL = 60.0


def heartbeat_interval() -> float:
    """Seconds between "still running" lines without a terminal (``MMBENCH_HEARTBEAT_S``)."""
    try:
        value = float(os.environ.get("MMBENCH_HEARTBEAT_S", DEFAULT_INTERVAL))
    except ValueError:
        return DEFAULT_INTERVAL
    return value if value > 0 else DEFAULT_INTERVAL


@dataclass
class Activity:
    label: str
    where: str = ""
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int | None = None

    def text(self, now: float) -> str:
        parts = [f"{now - self.started:.0f} s"]
        if self.where:
            parts.insert(0, f"on {self.where}")
        if self.total is not None:
            parts.insert(0, f"{self.done}/{self.total} steps")
        return f"{self.label} ({', '.join(parts)})"


class Activities:
    """Running activities by key; ``print_line`` gets the heartbeat lines (no terminal)."""

    def __init__(self, print_line: Callable[[str], None] | None = None,
                 interval: float | None = None) -> None:
        self._items: dict[Any, Activity] = {}
        self._lock = threading.Lock()
        self._print = print_line
        self.interval = interval or heartbeat_interval()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, key: Any, label: str, where: str = "", total: int | None = None) -> None:
        with self._lock:
            self._items[key] = Activity(label, where, total=total)

    def step(self, key: Any, n: int = 1) -> None:
        with self._lock:
            if key in self._items:
                self._items[key].done += n

    def finish(self, key: Any) -> None:
        with self._lock:
            self._items.pop(key, None)

    def snapshot(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return [a.text(now) for a in self._items.values()]

    def line(self) -> str | None:
        """``still running: a (on pid 12, 65 s); b (10/40 steps, 61 s)``, or None."""
        items = self.snapshot()
        return f"still running: {'; '.join(items)}" if items else None

    def __enter__(self) -> Activities:
        if self._print is not None:
            self._thread = threading.Thread(target=self._beat, daemon=True,
                                            name="mmbench-heartbeat")
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            line = self.line()
            if line is not None and self._print is not None:
                self._print(line)
