"""The README's plugin section and the example third-party plugin, exercised for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from mmbench.cli import main
from mmbench.testing import check_classifier, check_featurizer, registered

from conftest import REPO, SMOKE

EXAMPLE = REPO / "examples" / "mmbench-example-plugin"


def readme_plugin_code() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Writing a plugin", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)[0]


def test_readme_plugin_example_works(write_suite, capsys):
    module = types.ModuleType("readme_plugin")
    exec(compile(readme_plugin_code(), "README.md", "exec"), module.__dict__)
    out = check_featurizer(module.CaptionLength(log=True))
    assert out.shape[1] == 2
    suite = write_suite(SMOKE.replace('name = "tfidf"', 'name = "caption-length"')
                        .replace("params = { max_features = 64, min_df = 1 }", ""))
    with registered(module, "readme-plugin"):
        assert main(["run", str(suite)]) == 0
    assert "caption-length" in capsys.readouterr().out


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """The example plugin installed from outside the repo into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    source = tmp_path_factory.mktemp("src") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source)  # building writes next to the sources: not in the repo
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
           "--target", str(target), str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=target)
    assert done.returncode == 0, done.stderr
    return target


def _mmbench(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "mmbench.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd)


def test_third_party_plugin_appears_in_plugins_and_in_the_plan(installed_example, write_suite,
                                                               tmp_path):
    listing = _mmbench(["plugins"], installed_example, tmp_path)
    assert listing.returncode == 0, listing.stderr
    line = next(ln for ln in listing.stdout.splitlines() if "cosine-knn" in ln)
    assert "example-knn" in line and "mmbench-example-plugin 0.1.0" in line

    suite = write_suite(SMOKE.replace('name = "logreg"',
                                      'name = "logreg"\n\n[[classifiers]]\nname = "cosine-knn"'
                                      '\nparams = { n_neighbors = [3, 9] }'))
    checked = _mmbench(["validate", str(suite)], installed_example, tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "24 cells planned" in checked.stdout  # 8 per classifier variant
    ran = _mmbench(["run", str(suite)], installed_example, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "cosine-knn(n_neighbors=9)" in ran.stdout


def test_example_plugin_passes_the_conformance_check(installed_example, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_example))
    from mmbench_example import CosineKNN

    check_classifier(CosineKNN, n_neighbors=5)
