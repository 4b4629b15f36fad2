"""Featurization split into shards on a real 2-worker Dask LocalCluster and on the local
executor's 2-process pool: the matrix equals the in-process one, a killed worker loses only its
shards, a failing shard names the featurizer, its sample range and the worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hang_kit import install
from install_kit import env_with

SCRIPT = '''
import os, sys, threading, time
import numpy as np
from mmbench.featurize import FeaturizeJob, run_job, FeaturizationError
from mmbench.plan import Variant
from mmbench.testing import tiny_data
from mmbench_executors.dask import DaskExecutor
from mmbench_executors.local import LocalExecutor

def main():

    images = tiny_data(n=240).modalities["image"]
    mode = sys.argv[1]
    job = FeaturizeJob(Variant.of("featurizer", "slow-means", {"delay": 1.0, "fail": mode == "fail"}),
                       {}, None, (images,), "featurizer slow-means")
    if sys.argv[2] == "dask":
        ex = DaskExecutor(n_workers=2, featurize="workers", shard_size=20)
        ex.prepare()
        worker_pids = lambda: list(ex._connect().run(os.getpid).values())
    else:
        ex = LocalExecutor(n_jobs=2, shard_size=20)
        worker_pids = lambda: list(ex._start_pool()._processes)
    try:
        if mode == "fail":
            try:
                ex.run_featurize(job)
            except FeaturizationError as exc:
                print("ERROR", exc)
            return
        expected = run_job(FeaturizeJob(job.variant, {}, None, (images,), job.who))[0]
        pids = worker_pids()
        out = {}
        worker = threading.Thread(target=lambda: out.update(x=ex.run_featurize(job)[0]))
        worker.start()
        time.sleep(2.0)  # shards are running on both workers
        os.kill(sorted(pids)[0], 9)
        worker.join(240)
        print("EQUAL", np.array_equal(out["x"], expected), "SHARDS", ex.shards, "ROWS", len(out["x"]))
    finally:
        ex.close()


if __name__ == "__main__":  # worker processes re-import this file
    main()
'''


def run(tmp_path: Path, mode: str, executor: str) -> str:
    site = install(tmp_path / "site")
    script = tmp_path / "shards.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), mode, executor], capture_output=True, text=True,
                          env=env_with(site), timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["dask", "local"])
def test_shards_on_two_workers_equal_the_in_process_matrix_despite_a_killed_worker(
        tmp_path, executor):
    out = run(tmp_path, "kill", executor)
    assert "EQUAL True SHARDS 12 ROWS 240" in out, out


@pytest.mark.slow
@pytest.mark.parametrize(("executor", "where"), [("dask", "failed on worker tcp://"),
                                                 ("local", "failed on pool worker pid ")])
def test_a_failing_shard_names_featurizer_range_and_worker(tmp_path, executor, where):
    out = run(tmp_path, "fail", executor)
    line = next(ln for ln in out.splitlines() if ln.startswith("ERROR"))
    assert "featurizer slow-means: shard of samples" in line and where in line, line
    assert "the model ran out of patience" in line
