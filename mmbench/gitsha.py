"""The commit a run was made from, read without running anything a checkout configures.

``git status`` runs commands named in the repository's own config (``core.fsmonitor``, the
``clean``/``process`` command of a ``filter`` driver that ``.gitattributes`` names): a run
started inside an untrusted checkout must not execute them. Every command git could run is
switched off on the command line (which overrides the repository's config), hooks included.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

#: Overrides for everything ``rev-parse`` and ``status`` could otherwise execute.
SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
        "-c", "core.untrackedCache=false", "--no-optional-locks")


def _git(args: list[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *SAFE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=5, env=env)


def _filter_overrides(cwd: Path | None) -> list[str]:
    """``-c filter.<driver>.clean=`` (and ``process``, ``smudge``, ``required``) for every
    filter driver the configuration defines: an empty command means no filter."""
    names = _git(["config", "--name-only", "--get-regexp", r"^filter\."], cwd).stdout.split()
    drivers = {name[len("filter."):].rsplit(".", 1)[0] for name in names if name.count(".") >= 2}
    out: list[str] = []
    for driver in sorted(drivers):
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            out += ["-c", f"filter.{driver}.{key}={value}"]
    return out


def git_sha(cwd: Path | None = None) -> str:
    """The current commit (with ``-dirty`` when tracked files have changes), or "" outside
    git; no hook, fsmonitor or filter command of the checkout is run."""
    try:
        head = _git(["rev-parse", "--verify", "-q", "HEAD"], cwd)
        if head.returncode != 0:
            return ""
        status = _git([*_filter_overrides(cwd), "status", "--porcelain",
                       "--untracked-files=no", "--ignore-submodules"], cwd)
        dirty = status.returncode == 0 and status.stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""
