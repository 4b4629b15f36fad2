"""A Dask worker plugin that stops the diagnostics that wake up beside every cell."""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class NoProfiler(WorkerPlugin):
    """Stops Dask's statistical profiler (it samples every running task's stack every 10 ms)
    and the event loop's tick monitor (every 20 ms): on a machine whose cores all run cells,
    each wake-up preempts a cell (a few percent of a cell's time on 2 cores). The scheduler
    applies the plugin to every worker, also those that join later; ``profiler = true`` in the
    executor options leaves them on."""

    def setup(self, worker: Any) -> None:
        for name in ("profile", "profile-cycle", "tick"):
            callback = worker.periodic_callbacks.pop(name, None)
            if callback is not None:
                callback.stop()
