"""Executors side by side: the same cells (~1 s each on one thread) with local (1 process),
local (2 processes) and a 2-worker Dask cluster (a scheduler and two ``dask worker`` processes
started here on 127.0.0.1, 1 thread each). Prints cells/s, the ratio to 1 process, and the
dispatch overhead per cell (wall time x workers / cells - mean in-worker cell time, where a
cell's time is its fit, predict and scoring, as recorded in its ``timings``).

    .venv/bin/python benchmarks/executors.py [--cells 12] [--n 8000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

SUITE = """
name = "bench"
seeds = [0]
results_dir = "{root}/results-{tag}"
cache_dir = "{root}/cache"
[[datasets]]
name = "synthetic"
params = {{ n = {n}, n_classes = 5 }}
[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}
[[classifiers]]
name = "{clf}"
params = {{ C = {cs} }}
"""


def start_cluster(root: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    exe = Path(sys.executable).parent / "dask"
    cmd = (lambda s: [str(exe), s]) if exe.exists() else (
        lambda s: [sys.executable, "-m", f"distributed.cli.dask_{s}"])
    sched = root / "scheduler.json"
    procs = [subprocess.Popen(cmd("scheduler") + ["--host", "127.0.0.1", "--port", "0",
                                                  "--dashboard-address", ":0",
                                                  "--scheduler-file", str(sched)],
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    deadline = time.monotonic() + 60
    while not sched.exists() or not sched.read_text().strip():
        if time.monotonic() > deadline:
            raise SystemExit("scheduler did not start")
        time.sleep(0.1)
    address = json.loads(sched.read_text())["address"]
    for i in range(workers):
        procs.append(subprocess.Popen(
            cmd("worker") + [address, "--nworkers", "1", "--nthreads", "1", "--host",
                             "127.0.0.1", "--dashboard-address", ":0", "--name", f"w{i}"],
            stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--n", type=int, default=8000, help="synthetic samples")
    parser.add_argument("--classifier", default="linear-svm", choices=["linear-svm", "logreg"],
                        help="the cells' classifier (its C is swept to make distinct cells)")
    args = parser.parse_args()
    from rich.console import Console

    from mmbench.executors import make_executor
    from mmbench.plugins import get_catalog
    from mmbench.results import ResultStore
    from mmbench.runner import run_suite

    root = Path(tempfile.mkdtemp(prefix="mmbench-bench-"))
    cs = [round(0.1 * 1.3 ** i, 4) for i in range(args.cells)]
    quiet = Console(file=open(os.devnull, "w"))

    def suite(tag: str) -> Path:
        path = root / f"{tag}.toml"
        path.write_text(SUITE.format(root=root, tag=tag, n=args.n, cs=cs, clf=args.classifier))
        return path

    run_suite(suite("warm"), quiet, executor="local")  # features cached for every run
    address, procs = start_cluster(root, 2)
    try:
        runs = {"local (1 process)": (1, "local", {"n_jobs": 1}),
                "local (2 processes)": (2, "local", {"n_jobs": 2}),
                "dask (2 workers)": (2, "dask", {"address": address})}
        base = None
        print(f"{args.cells} cells, {args.classifier} on {args.n} synthetic TF-IDF rows, "
              "1 thread each; cell = fit + predict + scoring (bootstrap intervals) in the worker")
        for tag, (workers, name, options) in runs.items():
            executor = make_executor(get_catalog(), name=name, overrides=options)
            if name == "local" and workers > 1:  # start the pool outside the timing
                executor.run([], lambda t, o: None)
            start = time.perf_counter()
            summary = run_suite(suite(tag.split()[0] + str(workers)), quiet, executor=executor)
            wall = time.perf_counter() - start
            assert not summary.failed, summary.failed
            recs = list(ResultStore(summary.results_dir).records())
            cell_s = sum(sum(r["timings"].values()) for r in recs)
            rate = len(recs) / wall
            base = base or rate
            overhead = (wall * workers - cell_s) / len(recs) * 1000
            print(f"{tag:22s} {rate:6.2f} cells/s  x{rate / base:4.2f}  mean cell "
                  f"{cell_s / len(recs):.2f} s  overhead/cell {overhead:6.1f} ms")
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
