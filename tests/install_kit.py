"""Installing a plugin package the way its author would, into a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: a local folder, without the network, the pip cache or build isolation
PIP_OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index", "--no-cache-dir",
               "--disable-pip-version-check"]


def pip_install(target: Path, *sources: Path) -> None:
    """``pip install --target target sources...``; fails the test with pip's message."""
    cmd = [sys.executable, "-m", "pip", "install", "-q", *PIP_OFFLINE, "--target", str(target),
           *map(str, sources)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=target.parent)
    assert done.returncode == 0, done.stderr


def env_with(site: Path) -> dict[str, str]:
    """This process's environment with ``site`` first on PYTHONPATH."""
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "250"}
