"""Per-cell time limits (suite ``cell_timeout``, ``--cell-timeout``) enforced by the process
pool, the Dask executor and, for code that returns to Python, in-process; the running cells
shown with their elapsed time, without a terminal a line every heartbeat."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hang_kit import install, mmbench
from install_kit import env_with

SUITE = """
name = "h"
results_dir = "{results}"
cache_dir = "{cache}"
seeds = [0]
{extra}

[[datasets]]
name = "synthetic"
params = {{ n = 120, n_classes = 3 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 32, min_df = 1 }}

[[fusions]]
name = "concat"

[[classifiers]]
name = "logreg"

[[classifiers]]
name = "hang"
params = {{ mode = "{mode}", seconds = {seconds} }}
only = {{ fusions = ["concat"] }}
"""


def setup(tmp_path: Path, mode: str, seconds: float = 3600, extra: str = "") -> tuple[Path, Path]:
    site = install(tmp_path / "site")
    suite = tmp_path / "h.toml"
    suite.write_text(SUITE.format(results=tmp_path / "results", cache=tmp_path / "cache",
                                  mode=mode, seconds=seconds, extra=extra))
    return site, suite


def statuses(tmp_path: Path) -> dict[str, tuple[str, str]]:
    out = {}
    for p in (tmp_path / "results" / "h" / "cells").glob("*.json"):
        r = json.loads(p.read_text())
        feats = "+".join(sorted(r["featurizers"]))
        out[f"{r['fusion']['name']}/{feats}/{r['classifier']['name']}"] = (r["status"],
                                                                           r.get("error", ""))
    return out


def check_timed_out(tmp_path: Path, seconds: int) -> None:
    got = statuses(tmp_path)
    hang = "concat/image+text/hang"
    assert got[hang][0] == "failed"
    assert f"timed out after {seconds} s" in got[hang][1]
    others = {k: v for k, v in got.items() if k != hang}
    assert len(others) == 3 and all(s == "ok" for s, _ in others.values()), got


@pytest.mark.parametrize("mode", ["python", "native"])
def test_pool_stops_a_hung_cell_and_records_it_failed(tmp_path: Path, mode: str) -> None:
    site, suite = setup(tmp_path, mode)
    t0 = time.monotonic()
    proc = mmbench(site, "run", suite, "--n-jobs", "2", "--cell-timeout", "2",
                   env={"MMBENCH_HEARTBEAT_S": "1"})
    assert proc.returncode == 1, proc.stderr  # a failed cell
    assert time.monotonic() - t0 < 120
    check_timed_out(tmp_path, 2)
    assert "FAILED" in proc.stdout and "timed out after 2 s" in proc.stdout
    # without a terminal, what runs is named every heartbeat, with its worker and elapsed time
    running = [ln for ln in proc.stdout.splitlines() if ln.startswith("still running:")]
    assert any("hang(" in ln and "on worker pid" in ln for ln in running), proc.stdout


def test_suite_field_limits_cells_in_process_for_python_code(tmp_path: Path) -> None:
    site, suite = setup(tmp_path, "python", extra="cell_timeout = 2")
    proc = mmbench(site, "run", suite)
    assert proc.returncode == 1, proc.stderr
    check_timed_out(tmp_path, 2)
    assert "cell_timeout in this process stops a plugin only when it returns" in proc.stdout


def test_slow_featurization_and_cells_are_named_while_they_run(tmp_path: Path) -> None:
    site, suite = setup(tmp_path, "slow", seconds=2.5)
    proc = mmbench(site, "run", suite, env={"MMBENCH_HEARTBEAT_S": "1"})
    assert proc.returncode == 0, proc.stderr
    running = [ln for ln in proc.stdout.splitlines() if ln.startswith("still running:")]
    assert any("concat" in ln and "hang(" in ln and "on this process" in ln
               for ln in running), proc.stdout
    assert all(s == "ok" for s, _ in statuses(tmp_path).values())


@pytest.mark.slow
def test_dask_restarts_the_worker_of_a_hung_cell(tmp_path: Path) -> None:
    site, suite = setup(tmp_path, "native",
                        extra='[executor]\nname = "dask"\nn_workers = 2')
    proc = mmbench(site, "run", suite, "--cell-timeout", "8", env={"MMBENCH_HEARTBEAT_S": "1"})
    assert proc.returncode == 1, proc.stderr
    check_timed_out(tmp_path, 8)
    running = [ln for ln in proc.stdout.splitlines() if ln.startswith("still running:")]
    assert any("hang(" in ln and "tcp://" in ln for ln in running), proc.stdout


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf"])
def test_a_bad_cell_timeout_is_one_line_and_exit_2(tmp_path: Path, value: str) -> None:
    site, suite = setup(tmp_path, "none")
    proc = mmbench(site, "run", suite, f"--cell-timeout={value}")
    assert proc.returncode == 2
    assert "--cell-timeout must be a positive number of seconds" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "results" / "h" / "cells").exists()


def test_a_bad_suite_cell_timeout_is_refused(tmp_path: Path) -> None:
    site, suite = setup(tmp_path, "none", extra="cell_timeout = -5")
    proc = mmbench(site, "validate", suite)
    assert proc.returncode == 2 and "cell_timeout" in proc.stderr


BESIDE = """
name = "h"
results_dir = "{results}"
cache_dir = "{cache}"
seeds = [0]

[[datasets]]
name = "synthetic"
params = {{ n = 120, n_classes = 3 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "slow-means"
params = {{ delay = 12.0 }}

[[classifiers]]
name = "hang"
params = {{ mode = "native" }}
only = {{ featurizers = ["hog-color"] }}

[[classifiers]]
name = "logreg"
only = {{ featurizers = ["slow-means"] }}
"""


def test_a_cell_past_its_limit_is_stopped_while_a_featurization_runs(tmp_path: Path) -> None:
    """The pool's hung cell is killed at its limit even while the next featurization's shard
    runs beside it (not once the shard is done); the shard, lost with the pool, runs again."""
    site = install(tmp_path / "site")
    suite = tmp_path / "h.toml"
    suite.write_text(BESIDE.format(results=tmp_path / "results", cache=tmp_path / "cache"))
    proc = mmbench(site, "run", suite, "--n-jobs", "2", "--cell-timeout", "1")
    assert proc.returncode == 1, proc.stderr  # the hung cell failed
    lines = proc.stdout.splitlines()
    failed = next(i for i, ln in enumerate(lines) if ln.startswith("FAILED") and "hang(" in ln)
    shard = next(i for i, ln in enumerate(lines)
                 if ln.startswith("slow-means") and "on the pool: done" in ln)
    assert failed < shard, proc.stdout
    assert "timed out after 1 s" in lines[failed]
    got = statuses(tmp_path)
    assert got["unimodal/image/hang"][0] == "failed"
    assert got["unimodal/image/logreg"] == ("ok", ""), got


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_run_killed_hard_leaves_no_worker_running(tmp_path: Path, sig: int) -> None:
    """``mmbench run`` killed (SIGKILL, SIGTERM) while a pool worker is in an hour-long cell:
    its workers end with it instead of running on."""
    import psutil

    site, suite = setup(tmp_path, "python")
    run = subprocess.Popen([sys.executable, "-m", "mmbench.cli", "run", str(suite),
                            "--n-jobs", "2"], env=env_with(site), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    try:
        cells = tmp_path / "results" / "h" / "cells"
        deadline = time.monotonic() + 120
        while len(list(cells.glob("*.json"))) < 3:  # the logreg cells: the hang cell is next
            assert time.monotonic() < deadline and run.poll() is None, "the run did not start"
            time.sleep(0.1)
        time.sleep(1.0)  # the hang cell is in its worker
        workers = [p for p in psutil.Process(run.pid).children()
                   if "resource_tracker" not in " ".join(p.cmdline())]
        assert len(workers) == 2, workers
        run.send_signal(sig)
        run.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"workers still running after the run was killed: {alive}"
    finally:
        run.kill()
        for p in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
