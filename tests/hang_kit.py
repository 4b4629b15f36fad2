"""A plugin distribution whose classifier hangs in ``fit`` (or is only slow), installed into
a folder of its own so worker processes load it from its entry point, and the CLI run in a
child process that sees it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from install_kit import env_with

MODULE = "mmbench_hang"

CODE = '''
"""A classifier that hangs in fit: ``mode = "python"`` sleeps in Python (an alarm can stop it),
``"native"`` blocks SIGALRM first (like code stuck in C that never returns to Python),
``"slow"`` sleeps ``seconds`` then fits; ``"none"`` just fits."""
import signal
import time

from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

import mmbench


class Hang(BaseEstimator):
    def __init__(self, *, mode="python", seconds=3600.0):
        self.mode = mode
        self.seconds = seconds

    def fit(self, X, y):
        if self.mode == "native":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        if self.mode in ("python", "native", "slow"):
            time.sleep(self.seconds)
        self.clf_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict_proba(self, X):
        return self.clf_.predict_proba(X)


class SlowMeans:
    """Channel means of each image, ``delay`` seconds per call; ``fail``: raises instead."""
    modality = "image"
    version = "1"
    fits_on_train = False

    def __init__(self, *, delay=0.0, fail=False):
        self.delay = delay
        self.fail = fail

    def fit(self, samples):
        return self

    def transform(self, samples):
        import numpy as np
        if self.fail:
            raise RuntimeError("the model ran out of patience")
        time.sleep(self.delay)
        return np.asarray(samples, dtype=np.float32).mean(axis=(1, 2))


@mmbench.hookimpl
def mmbench_register_classifiers(register):
    register(Hang, name="hang")


@mmbench.hookimpl
def mmbench_register_featurizers(register):
    register(SlowMeans, name="slow-means")
'''


def install(site: Path) -> Path:
    """Install the distribution into ``site`` (a folder to put first on PYTHONPATH)."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{MODULE}.py").write_text(CODE)
    info = site / f"{MODULE}-0.1.0.dist-info"
    shutil.rmtree(info, ignore_errors=True)
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mmbench-hang\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[mmbench]\nhang = {MODULE}\n")
    return site


def mmbench(site: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``mmbench ARGS...`` in a child process (no terminal) that sees ``site``'s plugins."""
    return subprocess.run([sys.executable, "-m", "mmbench.cli", *map(str, args)],
                          capture_output=True, text=True, env={**env_with(site), **(env or {})},
                          timeout=timeout)
