"""Where mmbench reads data and keeps its caches (configuration, never hard-coded paths).

- ``MMBENCH_DATA_DIR``: a folder holding one sub-folder per dataset (``cifar10/`` ...).
  A dataset's ``data_dir`` parameter in a suite overrides it.
- ``MMBENCH_CACHE_DIR``: where features and unpacked archives go (default: the user cache dir,
  e.g. ``~/.cache/mmbench``). A suite's ``cache_dir`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """The root of mmbench's caches (created on demand by the users of it)."""
    env = os.environ.get("MMBENCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("mmbench"))


def data_dir(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder that holds datasets: ``override``, else ``$MMBENCH_DATA_DIR``, else None
    (callers then fall back to :func:`cache_dir` / ``"data"`` and download there)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("MMBENCH_DATA_DIR")
    return Path(env).expanduser() if env else None


def download_dir() -> Path:
    """Where datasets are downloaded to when no data folder is configured."""
    return cache_dir() / "data"
