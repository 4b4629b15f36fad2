"""Concurrent runs: a second ``mmbench run`` on a results folder being written refuses (exit 2,
naming the first) or waits (``--wait``); read-only commands need no lock; a lock left by a dead
run is taken over with a note."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from mmbench.cli import main
from mmbench.lock import FileLock, LockedError, describe_holder, holder_alive
from mmbench.results import ResultStore
from mmbench.runner import LOCK_FILE, run_suite

# 12 cells: the first run is paused (SIGSTOP) after its first, while others start
LONG = """
name = "long"
seeds = [0, 1]
[[datasets]]
name = "synthetic"
params = { n = 600, n_classes = 4 }
[[featurizers]]
name = "tfidf"
params = { max_features = 128, min_df = 1 }
[[featurizers]]
name = "hog-color"
params = { pixels_per_cell = 4 }
[[fusions]]
name = "concat"
[[classifiers]]
name = "logreg"
params = { C = [0.1, 10.0] }
"""
PINNED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def quiet(record: bool = False) -> Console:
    return Console(file=open(os.devnull, "w"), width=300, record=record)  # noqa: SIM115


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mmbench.cli", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **PINNED, "COLUMNS": "300"})


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.timeout(180)
def test_second_run_refuses_or_waits_and_readers_need_no_lock(write_suite, tmp_path: Path
                                                               ) -> None:
    suite = write_suite(LONG)
    root = tmp_path / "results" / "long"
    first = cli("run", str(suite))
    waiting = None
    try:
        deadline = time.monotonic() + 90
        while not list((root / "cells").glob("*.json")):  # the first run is writing
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0]
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)  # paused mid-run, holding the lock
        second = cli("run", str(suite))
        board = cli("leaderboard", str(root))  # read-only commands need no lock
        waiting = cli("run", str(suite), "--wait")
        assert waiting.stdout is not None
        said = waiting.stdout.readline()  # it says whom it waits for, then waits
        refused, _ = second.communicate(timeout=60)
        shown, _ = board.communicate(timeout=60)
        assert waiting.poll() is None
        first.send_signal(signal.SIGCONT)
        out, _ = first.communicate(timeout=120)
        waited, _ = waiting.communicate(timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
        first.kill()
        if waiting is not None:
            waiting.kill()
    assert second.returncode == 2, refused
    assert refused == (
        f"error: {root} is being written by mmbench run {suite} (pid {first.pid}, started "
        f"{time.strftime('%H:%M')} on host {socket.gethostname()}); wait for it (mmbench run "
        "--wait) or use another results_dir\n") or (  # the minute may have turned
        refused.count("\n") == 1 and f"(pid {first.pid}, started " in refused)
    assert board.returncode == 0 and "long — sorted by accuracy" in shown, shown
    assert said.startswith(f"waiting: {root} is being written by mmbench run {suite} "
                           f"(pid {first.pid}, started "), said
    assert first.returncode == 0 and "12 cells planned, 0 already recorded, 12 run" in out, out
    assert waiting.returncode == 0, waited
    assert "12 cells planned, 12 already recorded, 0 run" in waited, waited
    recs = list(ResultStore(root).records())
    assert len(recs) == len({r["cell_id"] for r in recs}) == 12
    assert not (root / LOCK_FILE).exists()


def test_a_held_lock_refuses_in_process_and_on_the_command_line(smoke_suite: Path,
                                                               tmp_path: Path, capsys) -> None:
    root = tmp_path / "results" / "t"
    with FileLock(root / LOCK_FILE, what=str(root), command="a test holding the lock"):
        with pytest.raises(LockedError, match=rf"{root} is being written by a test holding the "
                           rf"lock \(pid {os.getpid()}, started \d\d:\d\d on host "):
            run_suite(smoke_suite, quiet())
        assert main(["run", str(smoke_suite)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {root} is being written by a test holding the lock")
        assert err.count("\n") == 1 and not (root / "cells").exists()
    assert run_suite(smoke_suite, quiet()).ran == 8  # released: free to run
    assert not (root / LOCK_FILE).exists()


def test_stale_lock_of_a_dead_run_is_taken_over_with_a_note(smoke_suite: Path,
                                                            tmp_path: Path) -> None:
    root = tmp_path / "results" / "t"
    root.mkdir(parents=True)
    pid = dead_pid()
    stale = {"pid": pid, "host": socket.gethostname(), "created": time.time() - 3600,
             "command": "mmbench run old.toml"}
    (root / LOCK_FILE).write_text(json.dumps(stale))
    assert holder_alive(stale) is False
    console = quiet(record=True)
    summary = run_suite(smoke_suite, console)
    assert summary.ran == 8 and not summary.failed
    text = " ".join(console.export_text().split())
    assert (f"note: took over the lock {root / LOCK_FILE} left by mmbench run old.toml "
            f"(pid {pid}, started ") in text and "which ended without releasing it" in text
    assert not (root / LOCK_FILE).exists()


def test_holder_liveness_by_pid_and_host() -> None:
    me = {"pid": os.getpid(), "host": socket.gethostname(), "created": time.time()}
    assert holder_alive(me) is True
    assert holder_alive({**me, "pid": dead_pid()}) is False
    # a recycled pid: a process that started after the lock was written is not its holder
    assert holder_alive({**me, "created": time.time() - 10**7}) is False
    assert holder_alive({**me, "host": "elsewhere.example"}) is None  # cannot be known
    assert describe_holder({**me, "host": "h", "command": "mmbench run s.toml"}) == (
        f"mmbench run s.toml (pid {os.getpid()}, started {time.strftime('%H:%M')} on host h)")


def test_lock_held_by_a_child_of_a_dead_run_says_so(tmp_path: Path) -> None:
    """A lock file naming a dead pid but still locked (a process the run started, alive)."""
    path = tmp_path / LOCK_FILE
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, json, os, sys, time\n"
        f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        f"os.write(fd, json.dumps({{'pid': {dead_pid()}, 'host': {socket.gethostname()!r}}})"
        ".encode())\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match="that process is gone, but a process it started "
                           "still holds the lock"):
            FileLock(path, what="here").acquire()
    finally:
        holder.communicate("")
    lock = FileLock(path, what="here")
    lock.acquire()  # its last holder exited: free
    assert lock.held and "ended without releasing it" in lock.notes[0]
    lock.release()
    assert not path.exists()


def test_without_os_locks_the_pid_and_host_decide(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On a filesystem that refuses locks (some network mounts): a live holder on this host,
    or any holder on another host, is respected; a dead one on this host is taken over."""
    import mmbench.lock as lock_mod

    monkeypatch.setattr(lock_mod, "_try_lock", lambda fd: None)  # what ENOLCK leads to
    path = tmp_path / LOCK_FILE
    here = {"pid": os.getpid(), "host": socket.gethostname(), "created": time.time() - 1,
            "command": "mmbench run a.toml"}
    for holder in (here, {**here, "host": "elsewhere.example", "pid": dead_pid()}):
        path.write_text(json.dumps(holder))
        with pytest.raises(LockedError, match=rf"being written by mmbench run a.toml .*If that "
                           rf"run is no longer running, delete {path}"):
            FileLock(path, what="here").acquire()
    path.write_text(json.dumps({**here, "pid": dead_pid()}))
    lock = FileLock(path, what="here", command="me")
    lock.acquire()
    assert "ended without releasing it" in lock.notes[0]
    assert json.loads(path.read_text())["pid"] == os.getpid()
    with pytest.raises(LockedError, match=r"being written by me \(pid"):
        FileLock(path, what="here").acquire()
    lock.release()
    assert not path.exists()
