"""Executors: local (in-process, process pool) and dask (a real scheduler + workers started here
as subprocesses on 127.0.0.1, and a LocalCluster) give the same records; a worker killed
mid-run loses no cell; Ctrl-C keeps finished cells; client-only plugins are refused clearly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mmbench.errors import UserError
from mmbench.results import ResultStore
from mmbench.runner import run_suite

pytestmark = pytest.mark.timeout(120)

FAST = """
name = "ex"
seeds = [0, 1]
results_dir = "{results}"
cache_dir = "{cache}"
{executor}
[[datasets]]
name = "synthetic"
params = {{ n = 150, n_classes = 3 }}
[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}
[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}
[[fusions]]
name = "concat"
[[classifiers]]
name = "logreg"
params = {{ C = 0.5 }}
"""

# cells of ~0.5-1 s each on one thread (liblinear on 4200 TF-IDF rows), so some are in flight
SLOW = """
name = "slow"
seeds = [0]
results_dir = "{results}"
cache_dir = "{cache}"
{executor}
[[datasets]]
name = "synthetic"
params = {{ n = 4000, n_classes = 5 }}
[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}
[[classifiers]]
name = "linear-svm"
params = {{ C = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0] }}
"""

PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def dask_command(sub: str) -> list[str]:
    """This venv's ``dask`` executable, or the same CLI through this interpreter."""
    exe = Path(sys.executable).parent / "dask"
    if exe.exists():
        return [str(exe), sub]
    return [sys.executable, "-m", f"distributed.cli.dask_{sub}"]


class Cluster:
    """A scheduler and workers as subprocesses, each in its own process group."""

    def __init__(self, root: Path, n_workers: int = 2, gpu_worker: bool = False) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.root = root
        sched_file = root / "scheduler.json"
        self.env = {**os.environ, **PINNED}
        self._spawn(dask_command("scheduler") + ["--host", "127.0.0.1", "--port", "0",
                                                 "--dashboard-address", ":0",
                                                 "--scheduler-file", str(sched_file)], "sched")
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert time.monotonic() < deadline, "scheduler did not start in 60 s"
            assert self.procs[0].poll() is None, (root / "sched.log").read_text()
            time.sleep(0.1)
        self.address = json.loads(sched_file.read_text())["address"]
        for i in range(n_workers):
            self.workers.append(self._spawn(
                dask_command("worker") + [self.address, "--nworkers", "1", "--nthreads", "1",
                                          "--host", "127.0.0.1", "--dashboard-address", ":0",
                                          "--name", f"w{i}"]
                + (["--resources", "GPU=1"] if gpu_worker and i == 1 else []), f"worker{i}"))
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n_workers, timeout=60)

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "wb")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill_worker_of(self, pid: int) -> None:
        """SIGKILL the worker (nanny and worker process) whose group holds ``pid``."""
        group = os.getpgid(pid)
        assert group in {w.pid for w in self.workers}, "pid is not one of our workers"
        os.killpg(group, signal.SIGKILL)

    def close(self) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster for tests that leave it whole; its worker ``w1`` says it has a GPU."""
    c = Cluster(tmp_path_factory.mktemp("cluster"), gpu_worker=True)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster of one's own (a test kills one of its workers)."""
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def write(tmp_path: Path, body: str, tag: str, executor: str = "") -> Path:
    path = tmp_path / f"{tag}.toml"
    path.write_text(body.format(results=tmp_path / f"results-{tag}", cache=tmp_path / "cache",
                                executor=executor))
    return path


def records(results: Path) -> dict[str, dict]:
    return {r["cell_id"]: r for r in ResultStore(results).records()}


def _sigint_default() -> None:
    """In the child: Ctrl-C as in a terminal, even when this test process was started in the
    background by a shell (which ignores SIGINT there, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mmbench.cli", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **PINNED}, preexec_fn=_sigint_default,
                            **kw)  # type: ignore[call-overload]


def wait_processing(address: str, timeout: float = 60) -> int:
    """Wait until a worker is running a cell; return that worker's pid."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = {w: keys for w, keys in client.processing().items()
                    if any(str(k).startswith("mmbench-cell-") for k in keys)}
            if busy:
                worker = sorted(busy)[0]
                return int(client.run(os.getpid, workers=[worker])[worker])
            time.sleep(0.05)
    raise AssertionError(f"no cell started on the cluster within {timeout} s")


def test_every_executor_records_the_same_results(tmp_path: Path, shared_cluster: Cluster,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from mmbench.executors import make_executor
    from mmbench.plugins import get_catalog
    from mmbench_executors import shared

    remote = make_executor(get_catalog(), name="dask",
                           overrides={"address": shared_cluster.address})
    pool = make_executor(get_catalog(), name="local", overrides={"n_jobs": 2})
    monkeypatch.setattr(shared, "INLINE_BYTES", 0)  # share even these small matrices
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    runs = {
        "serial": dict(executor="local"),
        "pool": dict(executor=pool),
        "dask": dict(executor=remote),
        "localcluster": dict(executor="dask", executor_options={"n_workers": 2}),
    }
    got = {}
    for tag, options in runs.items():
        summary = run_suite(write(tmp_path, FAST, tag), **options)
        assert summary.failed == [] and summary.ran == summary.planned == 6, tag
        got[tag] = records(tmp_path / f"results-{tag}" / "ex")
    # features went to the cluster once per featurization: per seed hog-color and tfidf,
    # train + test, and the split's labels (6 arrays), not once per cell (3 cells x 4 each)
    assert remote.shipped == 2 * 6
    # Dask's statistical profiler and tick monitor were stopped on the cluster's workers
    from distributed import Client

    with Client(shared_cluster.address, timeout=30) as client:
        left = client.run(lambda dask_worker: sorted(
            {"profile", "profile-cycle", "tick"} & set(dask_worker.periodic_callbacks)))
    assert len(left) == 2 and all(v == [] for v in left.values()), left
    # the pool's workers mapped the same 12 arrays from files, deleted when the run closed
    assert pool.shared.written == 2 * 6
    assert list((tmp_path / "tmp").glob("mmbench-shared-*")) == []
    # each record says which process ran it: this one, or the pool's and the cluster's workers
    pids = {tag: {r["worker"]["pid"] for r in recs.values()} for tag, recs in got.items()}
    assert pids["serial"] == {os.getpid()}
    for tag in ("pool", "dask", "localcluster"):
        assert os.getpid() not in pids[tag] and 1 <= len(pids[tag]) <= 2, (tag, pids)
    base = got["serial"]
    assert len(base) == 6
    for tag, recs in got.items():
        assert recs.keys() == base.keys(), tag
        for cid, rec in recs.items():
            assert rec["status"] == "ok" and rec["metrics"] == base[cid]["metrics"], (tag, cid)
            pa = ResultStore(tmp_path / f"results-{tag}" / "ex").predictions(cid)
            pb = ResultStore(tmp_path / "results-serial" / "ex").predictions(cid)
            np.testing.assert_allclose(pa["proba"], pb["proba"], atol=1e-6)
            np.testing.assert_array_equal(pa["test_index"], pb["test_index"])


def test_a_shared_file_lives_as_long_as_its_split(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell that finishes before the next cell of its featurization is submitted must not
    make the pool write the same matrix again (the count of writes was left to timing)."""
    import tempfile

    from mmbench_executors.shared import SharedArrays, SharedRef

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shared = SharedArrays()
    x = np.arange(300_000, dtype=np.float64)  # 2.4 MB: over INLINE_BYTES
    first = shared.share("a", x, split="s0")
    assert isinstance(first, SharedRef) and np.array_equal(np.load(first.path), x)
    shared.release("a")  # the only cell using it is done, before the next one is submitted
    assert Path(first.path).exists()
    assert shared.share("a", x, split="s0") == first and shared.written == 1
    held = shared.share("h", x, split="s0")  # still in flight when the next split begins
    shared.release("a")
    shared.share("b", x, split="s1")  # the run moves on: s0's idle file goes
    assert not Path(first.path).exists() and Path(held.path).exists()
    shared.release("h")  # the last cell of an earlier split: deleted at once
    assert not Path(held.path).exists() and shared.written == 3
    assert shared.share("tiny", np.zeros(3), split="s1").shape == (3,)  # inline
    shared.close()
    assert list(tmp_path.glob("mmbench-shared-*")) == []


def test_killed_worker_loses_no_cell(tmp_path: Path, cluster: Cluster) -> None:
    suite = write(tmp_path, SLOW, "kill")
    run = cli("run", str(suite), "--executor", "dask", "--address", cluster.address)
    try:
        pid = wait_processing(cluster.address)
        cluster.kill_worker_of(pid)
        out, _ = run.communicate(timeout=90)
    finally:
        run.kill()
    assert run.returncode == 0, out
    assert "6 cells planned, 0 already recorded, 6 run, 0 failed" in out, out
    recs = records(tmp_path / "results-kill" / "slow")
    assert len(recs) == 6 and all(r["status"] == "ok" for r in recs.values())
    assert cluster.workers[0].poll() is not None or cluster.workers[1].poll() is not None


def test_ctrl_c_keeps_finished_cells_and_cancels_the_rest(tmp_path: Path,
                                                          shared_cluster: Cluster) -> None:
    cluster = shared_cluster
    # 18 cells: even if a loaded machine delivers several results at once, SIGINT comes early
    many = SLOW.replace("[0.25, 0.5, 1.0, 2.0, 4.0, 8.0]",
                        str([round(0.25 * 1.5 ** i, 4) for i in range(18)]))
    suite = write(tmp_path, many, "intr")
    cells = tmp_path / "results-intr" / "slow" / "cells"
    run = cli("run", str(suite), "--address", cluster.address)
    try:
        deadline = time.monotonic() + 60
        while not list(cells.glob("*.json")):
            assert time.monotonic() < deadline and run.poll() is None, "no cell finished"
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 130, out
    assert not (tmp_path / "results-intr" / "slow" / "run.lock").exists()  # the client let go
    kept = records(tmp_path / "results-intr" / "slow")
    assert 1 <= len(kept) < 18 and all(r["status"] == "ok" for r in kept.values())
    from distributed import Client

    with Client(cluster.address, timeout=30) as client:  # nothing of ours left running
        deadline = time.monotonic() + 20
        while any(str(k).startswith("mmbench-") for ks in client.processing().values()
                  for k in ks):
            assert time.monotonic() < deadline, "cells still running after Ctrl-C"
            time.sleep(0.1)
    again = cli("run", str(suite), "--address", cluster.address)
    out, _ = again.communicate(timeout=90)
    assert again.returncode == 0, out
    assert f"18 cells planned, {len(kept)} already recorded, {18 - len(kept)} run" in out, out


def test_client_only_plugins_are_refused_for_remote_executors(tmp_path: Path) -> None:
    import mmbench
    from mmbench.testing import registered
    from sklearn.linear_model import LogisticRegression

    class OnlyHere(LogisticRegression):
        """Exists only in this process."""

    class Plugin:
        @mmbench.hookimpl
        def mmbench_register_classifiers(self, register):  # type: ignore[no-untyped-def]
            register(OnlyHere, name="only-here")

    path = write(tmp_path, FAST.replace('"logreg"', '"only-here"').replace(
        "params = {{ C = 0.5 }}", ""), "local-only")
    with registered(Plugin(), "only-here-plugin"):
        for options in ({"executor": "dask", "executor_options": {"address": "tcp://127.0.0.1:1"}},
                        {"executor": "local", "executor_options": {"n_jobs": 2}}):
            with pytest.raises(UserError, match="classifier 'only-here' .*exists only in this"):
                run_suite(path, **options)
        assert run_suite(path, executor="local").ran == 6  # in-process it runs


def test_executor_options_are_checked(tmp_path: Path) -> None:
    bad = 'executor = { name = "dask", adress = "tcp://127.0.0.1:1" }'
    with pytest.raises(UserError, match=r"invalid option\(s\) \['adress'\] for executor 'dask'"):
        run_suite(write(tmp_path, FAST, "opts", bad))
    typed = 'executor = { name = "dask", retries = "2" }'  # checked from the annotation
    with pytest.raises(UserError, match="executor 'dask': retries must be an integer, got the "
                                        'string "2"; write retries = 2'):
        run_suite(write(tmp_path, FAST, "typed", typed))
    down = 'executor = { name = "dask", address = "tcp://127.0.0.1:1", timeout = 2 }'
    with pytest.raises(UserError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:1"):
        run_suite(write(tmp_path, FAST, "down", down))
    # the command line overrides the suite's table
    assert run_suite(write(tmp_path, FAST, "cli", down), executor="local").ran == 6


def test_cells_side_by_side_get_a_thread_budget(tmp_path: Path) -> None:
    """A plugin taking ``n_jobs`` keeps its default in a serial run and gets the executor's
    per-cell thread budget when cells run side by side (no oversubscribed cores)."""
    import mmbench
    from mmbench.executors import run_remote, skeleton
    from mmbench.testing import registered
    from sklearn.neighbors import KNeighborsClassifier

    seen: list[int] = []

    class Threaded(KNeighborsClassifier):
        def __init__(self, *, n_jobs: int = 7) -> None:
            super().__init__(n_jobs=n_jobs)

        def fit(self, X, y):  # type: ignore[no-untyped-def]
            seen.append(self.n_jobs)
            return super().fit(X, y)

    class Plugin:
        @mmbench.hookimpl
        def mmbench_register_classifiers(self, register):  # type: ignore[no-untyped-def]
            register(Threaded, name="threaded")

    class InProcessWorkers:  # what the pool and Dask workers do, without the processes
        def run(self, tasks, on_done):  # type: ignore[no-untyped-def]
            for task in tasks:
                on_done(task, run_remote(skeleton(task), task.train, task.y_train, task.test,
                                         task.y_test, threads=2))

    path = write(tmp_path, FAST.replace('"logreg"', '"threaded"').replace(
        "params = {{ C = 0.5 }}", ""), "threads")
    with registered(Plugin(), "threads-plugin"):
        assert run_suite(path, executor="local").ran == 6
        assert set(seen) == {7}
        seen.clear()
        assert run_suite(path, executor=InProcessWorkers(), rerun=True).ran == 6
        assert set(seen) == {2}


def test_featurizers_run_on_the_worker_with_the_resource(tmp_path: Path,
                                                         shared_cluster: Cluster) -> None:
    """``featurize = "workers"``: each featurization runs on the worker offering the asked
    resource, its matrices come back to the client's cache, and the records equal a run that
    featurized in the client."""
    from distributed import Client, get_task_stream

    local = run_suite(write(tmp_path, FAST, "client-features"), executor="local")
    remote = ('executor = { name = "dask", address = "%s", featurize = "workers", '
              'resources = { GPU = 1 } }' % shared_cluster.address)
    body = FAST.replace('cache_dir = "{cache}"', 'cache_dir = "{cache}-workers"')
    with Client(shared_cluster.address, timeout=30) as client:
        gpu = [a for a, w in client.scheduler_info()["workers"].items()
               if w["resources"].get("GPU")]
        with get_task_stream(client=client) as stream:
            summary = run_suite(write(tmp_path, body, "worker-features", remote))
    assert summary.failed == [] and summary.ran == 6
    # hog-color once for all seeds; tfidf train and test for each seed's split
    assert summary.features_computed == local.features_computed == 5
    where = {t["key"]: t["worker"] for t in stream.data
             if str(t["key"]).startswith("mmbench-featurize-")}
    # three jobs: hog-color once for all seeds, tfidf fitted on each seed's training split
    assert len(where) == 3 and set(where.values()) == set(gpu), where
    assert len(list((tmp_path / "cache-workers" / "features").rglob("*.npy"))) == 5
    base = records(tmp_path / "results-client-features" / "ex")
    got = records(tmp_path / "results-worker-features" / "ex")
    assert {c: r["metrics"] for c, r in got.items()} == {c: r["metrics"] for c, r in base.items()}

    missing = remote.replace("GPU = 1", "TPU = 2")
    with pytest.raises(UserError, match=r"offers resources TPU=2.*--resources"):
        run_suite(write(tmp_path, body.replace("-workers", "-tpu"), "tpu", missing))


SLOW_TEARDOWN = '''
import time


class SlowTeardown:
    def __del__(self):
        time.sleep(30)


KEPT = []


def hold() -> int:
    """Keep an object whose teardown takes 30 s in this worker."""
    KEPT.append(SlowTeardown())
    return len(KEPT)
'''


def test_pool_workers_exit_without_tearing_the_interpreter_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shutting the pool down waits for its workers; a worker holding objects that are slow to
    tear down (torch, xgboost, kept fits) ends at once instead (all its results were sent)."""
    from mmbench_executors.local import LocalExecutor

    (tmp_path / "slow_teardown.py").write_text(SLOW_TEARDOWN)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers get this sys.path
    import slow_teardown

    ex = LocalExecutor(n_jobs=2)
    pool = ex._start_pool()
    assert [f.result() for f in [pool.submit(slow_teardown.hold) for _ in range(2)]] != []
    t0 = time.monotonic()
    ex.close()
    assert time.monotonic() - t0 < 15  # a torn-down worker would sleep 30 s in __del__
