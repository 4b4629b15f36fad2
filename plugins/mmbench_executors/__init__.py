"""Built-in executors: ``local`` (this process, or a process pool) and ``dask`` (a Dask
cluster: a running scheduler, or a ``LocalCluster`` started for the run).

Neither module imports dask or multiprocessing machinery until a run starts.
"""

from __future__ import annotations

import mmbench

from .dask import DaskExecutor
from .local import LocalExecutor


@mmbench.hookimpl
def mmbench_register_executors(register):  # type: ignore[no-untyped-def]
    register(LocalExecutor, name="local")
    register(DaskExecutor, name="dask", aliases=["distributed"])
