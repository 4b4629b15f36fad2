"""Executors side by side: the same cells (a few seconds each on one thread) with local
(1 process), local (2 processes) and a 2-worker Dask cluster (a scheduler and two ``dask worker``
processes started here on 127.0.0.1, 1 thread each), plus the ceiling the hardware allows: the
same cell function run by two bare processes at once, without mmbench.

For each executor it prints cells/s and the ratio to 1 process, and, from the worker, host, pid
and start/finish times every cell records:

- ``cell``: mean in-worker time of a cell (fit, predict, scoring) and its slowdown against the
  1-process run (two cells sharing the machine's memory bandwidth and caches each run slower);
- ``dispatch``: mean idle time of a worker between two consecutive cells: receiving the next
  cell's arguments and sending the previous result back (the per-cell overhead of the executor);
- ``busy``: the share of the workers' time spent in cells between the first start and the last
  finish (what a ragged end and dispatch cost);
- ``setup``: from the run's start to its first cell (planning, data and cached features).

Against the ceiling, each 2-way executor's cells/s from its first cell's start to its last
cell's finish (dispatch, the client recording results beside the cells and a ragged end count;
``setup`` does not: the bare processes load before their clock starts) is divided by the mean
cells/s of the bare processes run just before and just after it, the same way timed, since the
host's speed drifts within a round; the whole run's figure, ``setup`` included, is printed
beside it.

    .venv/bin/python benchmarks/executors.py [--cells 12] [--rounds 3] [--n 20000] [--classifier linear-svm]
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


_bare: dict = {}


def _bare_init(path: str) -> None:
    """A bare process: the suite's cells and cached features, no executor, no result store."""
    from mmbench.cache import FeatureCache
    from mmbench.executors import pin_threads
    from mmbench.featurize import FeatureProvider, instantiate
    from mmbench.paths import cache_dir
    from mmbench.plan import plan_suite
    from mmbench.plugins import get_catalog
    from mmbench.splits import make_split
    from mmbench.suite import load_suite

    pin_threads()
    catalog = get_catalog()
    plan = plan_suite(load_suite(path), catalog)
    cell0 = plan.cells[0]
    data = instantiate(catalog["dataset"].get(cell0.dataset.name), cell0.dataset, {}).load()
    train, test = make_split(data.y, dict(cell0.split), cell0.seed, cell0.fold)
    root = plan.suite.cache_dir or cache_dir()
    provider = FeatureProvider(FeatureCache(Path(root) / "features"), catalog, {"device": "cpu"})
    views = {m: provider.features(f, data, train, test)
             for cell in plan.cells for m, f in cell.featurizers}
    _bare.update(catalog=catalog, cells=plan.cells, views=views, y=(data.y[train], data.y[test]),
                 n_classes=len(data.class_names))


def _bare_cell(i: int) -> tuple[float, float, float]:
    """Cell ``i``: its time in the cell, and when it started and finished (``time.time``)."""
    from mmbench.cell import evaluate_cell

    started = time.time()

    cell, views = _bare["cells"][i], _bare["views"]
    out = evaluate_cell(cell, {m: views[m][0] for m in cell.modalities}, _bare["y"][0],
                        {m: views[m][1] for m in cell.modalities}, _bare["y"][1],
                        _bare["n_classes"], _bare["catalog"], threads=1)
    return sum(out.timings.values()), started, time.time()


def bare_wall(path: Path, workers: int, cells: int) -> tuple[float, float]:
    """Seconds from the first cell's start to the last one's finish in ``workers`` bare
    processes (started and loaded beforehand), and the mean cell time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_bare_init, initargs=(str(path),)) as pool:
        list(pool.map(time.sleep, [0.5] * workers))  # every process started and loaded
        got = list(pool.map(_bare_cell, range(cells)))
        span = max(f for _, _, f in got) - min(s for _, s, _ in got)
        return span, sum(t for t, _, _ in got) / len(got)


def spans(records: list[dict]) -> tuple[float, float, float, float]:
    """(mean idle gap between consecutive cells of a worker, busy share, first start, last
    finish)."""
    by_worker: dict[tuple, list[tuple[float, float]]] = {}
    for r in records:
        w = r["worker"]
        by_worker.setdefault((w["host"], w["pid"]), []).append((w["started"], w["finished"]))
    gaps = [b[0] - a[1] for runs in by_worker.values()
            for a, b in zip(sorted(runs), sorted(runs)[1:])]
    first = min(s for runs in by_worker.values() for s, _ in runs)
    last = max(f for runs in by_worker.values() for _, f in runs)
    busy = sum(f - s for runs in by_worker.values() for s, f in runs)
    workers = max(len(by_worker), 1)
    return (sum(gaps) / len(gaps) if gaps else 0.0, busy / (workers * (last - first)), first,
            last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of all runs, interleaved; medians are reported")
    parser.add_argument("--n", type=int, default=20000, help="synthetic samples")
    parser.add_argument("--classifier", default="linear-svm", choices=["linear-svm", "logreg"],
                        help="the cells' classifier (its C is swept to make distinct cells)")
    args = parser.parse_args()
    from statistics import median

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
    runs = {"local (1 process)": (1, "local", {"n_jobs": 1}),
            "local (2 processes)": (2, "local", {"n_jobs": 2}),
            "dask (2 workers)": (2, "dask", {"address": address})}
    rows: dict[str, list[tuple[float, ...]]] = {tag: [] for tag in [*runs, "bare"]}
    #: cells/s of a 2-way executor over the mean cells/s of the bare processes run just before
    #: and just after it (the host's speed drifts within a round)
    ceiling: dict[str, list[float]] = {"local (2 processes)": [], "dask (2 workers)": []}
    #: the same, with the executor's whole run (planning, loading, audit: ``setup``) timed
    whole: dict[str, list[float]] = {tag: [] for tag in ceiling}
    print(f"{args.cells} cells x {args.rounds} rounds, {args.classifier} on {args.n} synthetic "
          "TF-IDF rows, 1 thread each; cell = fit + predict + scoring (bootstrap intervals) in "
          "the worker. Runs interleave, so that drifts of a shared host hit all of them.")
    try:
        for r in range(args.rounds):
            base = base_cell = 0.0
            one, one_cell = bare_wall(suite("warm"), 1, args.cells)
            bare = [bare_wall(suite("warm"), 2, args.cells)]  # then one after each executor
            for tag, (workers, name, options) in runs.items():
                executor = make_executor(get_catalog(), name=name, overrides=options)
                if name == "local" and workers > 1:  # start the pool outside the timing
                    executor.run([], lambda t, o: None)
                start_wall, start = time.time(), time.perf_counter()
                summary = run_suite(suite(f"{name}{workers}-{r}"), quiet, executor=executor)
                wall = time.perf_counter() - start
                assert not summary.failed, summary.failed
                recs = list(ResultStore(summary.results_dir).records())
                cell_s = sum(sum(x["timings"].values()) for x in recs) / len(recs)
                gap, busy, first, last = spans(recs)
                rate = len(recs) / wall
                cells_rate = len(recs) / (last - first)  # the cells' phase, as bare's
                base, base_cell = base or rate, base_cell or cell_s
                rows[tag].append((rate, rate / base, cell_s, cell_s / base_cell, gap * 1000,
                                  busy, first - start_wall))
                if tag in ceiling:  # against the bare runs just before and just after it
                    bare.append(bare_wall(suite("warm"), 2, args.cells))
                    around = (args.cells / bare[-2][0] + args.cells / bare[-1][0]) / 2
                    ceiling[tag].append(cells_rate / around)
                    whole[tag].append(rate / around)
            two = sum(w for w, _ in bare) / len(bare)
            two_cell = sum(c for _, c in bare) / len(bare)
            rows["bare"].append((args.cells / two, one / two, two_cell, two_cell / one_cell))
            print(f"round {r + 1}: ratio to 1 process: " + ", ".join(
                f"{tag} x{rows[tag][-1][1]:.2f}" for tag in rows if tag != "local (1 process)")
                + "; of the ceiling (bare runs just before and after; cells / whole run): "
                + ", ".join(f"{tag} {v[-1]:.2f} / {whole[tag][-1]:.2f}"
                            for tag, v in ceiling.items()))
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    print("medians over rounds:")
    for tag, got in rows.items():
        m = [median(col) for col in zip(*got)]
        if tag == "bare":
            print(f"{'bare (2 processes)':22s} {m[0]:6.3f} cells/s  x{m[1]:4.2f}  cell {m[2]:.2f} s "
                  f"(x{m[3]:4.2f})  — the hardware's ceiling: the same cells in two bare "
                  "processes, no executor, no result store")
        else:
            share = (f"  {median(ceiling[tag]):.2f} of the ceiling over the cells (target "
                     f"0.95), {median(whole[tag]):.2f} over the whole run"
                     if tag in ceiling else "")
            print(f"{tag:22s} {m[0]:6.3f} cells/s  x{m[1]:4.2f}  cell {m[2]:.2f} s (x{m[3]:4.2f})"
                  f"  dispatch (per-cell overhead) {m[4]:5.1f} ms  busy {m[5]:4.0%}  setup "
                  f"{m[6]:4.2f} s{share}")


if __name__ == "__main__":
    main()
