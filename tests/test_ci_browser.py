"""CI runs the browser tests: without Chromium they fail under ``CI`` (skip elsewhere), and
``.ci/run`` installs Chromium when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_browser_tests(ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = str(Path(sys.executable).parent)  # no chromium on this PATH
    if ci:
        env["CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", "tests/test_report_browser.py"], capture_output=True,
                          text=True, env=env, cwd=REPO)


def test_missing_chromium_fails_under_ci_and_skips_elsewhere():
    ci = run_browser_tests(ci=True)
    assert ci.returncode == 1 and "2 errors" in ci.stdout, ci.stdout[-2000:]
    assert "CI is set but Chromium is not installed" in ci.stdout
    local = run_browser_tests(ci=False)
    assert local.returncode == 0 and "2 skipped" in local.stdout, local.stdout[-2000:]


def test_ci_script_installs_chromium_and_sets_ci():
    script = (REPO / ".ci" / "run").read_text()
    assert "apt-get update" in script and "apt-get install -y -q chromium" in script
    assert 'export CI="${CI:-1}"' in script
    install = script.index("apt-get install")
    assert install < script.index("python -m pytest")
