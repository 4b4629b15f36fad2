"""Plugins from local .py files: a suite's ``plugins = ["./file.py"]`` and ``--plugins-dir``,
registered like entry points, recorded with the file's sha256, rerun when the file changes."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from mmbench.cli import main
from mmbench.localplugins import ENV
from mmbench.plugins import load_catalog
from mmbench.runner import run_suite

FUSION = '''
import numpy as np

import mmbench
from mmbench.protocols import FusionBase, missing_rows


class MaxConfidence(FusionBase):
    """Per sample, the probabilities of the more confident modality. Missing modality: the
    other one; none: the training prior."""

    level = "decision"

    def fit(self, views, y, make_classifier):
        self._set_classes(y)
        self.clfs_ = {m: make_classifier().fit(v, y) for m, v in views.items()}
        return self

    def predict_proba(self, views):
        n = len(next(iter(views.values())))
        best, out = np.full(n, -1.0), np.tile(self.prior_, (n, 1))
        for m, clf in self.clfs_.items():
            ok = ~missing_rows(views[m])
            if ok.any():
                p = self._full_proba(clf, views[m][ok])
                take = p.max(axis=1) > best[ok]
                rows = np.flatnonzero(ok)[take]
                out[rows], best[rows] = p[take], p[take].max(axis=1)
        return out


@mmbench.hookimpl
def mmbench_register_fusions(register):
    register(MaxConfidence, name="max-confidence")
'''

SUITE = """
name = "local-file"
plugins = ["./plugins/my_fusion.py"]
results_dir = "{root}/results"
cache_dir = "{root}/cache"

[[datasets]]
name = "synthetic"
params = {{ n = 90 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 64, min_df = 1 }}

[[fusions]]
name = "max-confidence"

[[classifiers]]
name = "logreg"
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "")  # what a run loads is undone after the test
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "my_fusion.py").write_text(FUSION)
    (tmp_path / "suite.toml").write_text(SUITE.format(root=tmp_path.as_posix()))
    return tmp_path


def records(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "results" / "local-file" /
                                                       "cells").glob("*.json"))]


def run(root: Path, catalog) -> object:
    return run_suite(root / "suite.toml", Console(file=io.StringIO()), catalog=catalog)


def test_a_single_file_plugin_runs_and_editing_it_reruns_its_cells(project):
    catalog = load_catalog()
    summary = run(project, catalog)
    assert summary.ran == 3 and not summary.failed, summary.failed  # 2 unimodal + the file's
    path = project / "plugins" / "my_fusion.py"
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = catalog["fusion"].get("max-confidence")
    assert (entry.plugin, entry.distribution, entry.version) == ("my_fusion", "my_fusion.py", sha)
    fused = [r for r in records(project) if r["fusion"]["name"] == "max-confidence"]
    assert len(fused) == 1 and fused[0]["inputs"]["plugins"]["fusion"] == f"my_fusion.py {sha}"

    assert run(project, catalog).ran == 0  # unchanged file: nothing to do
    path.write_text(FUSION.replace("more confident", "most confident"))
    again = run(project, catalog)
    assert again.ran == 1 and again.stale == 1  # only the cell of the edited plugin
    new_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    fused = [r for r in records(project) if r["fusion"]["name"] == "max-confidence"]
    assert fused[0]["inputs"]["plugins"]["fusion"] == f"my_fusion.py {new_sha}"


def test_plugins_dir_on_the_command_line(project, capsys):
    suite = project / "suite.toml"
    suite.write_text(suite.read_text().replace('plugins = ["./plugins/my_fusion.py"]\n', ""))
    assert main(["validate", str(suite)]) == 2
    assert "unknown fusion 'max-confidence'" in capsys.readouterr().err
    assert main(["validate", str(suite), "--plugins-dir", str(project / "plugins")]) == 0
    assert "3 cells planned" in capsys.readouterr().out
    assert main(["validate", str(suite), "--plugins-dir", str(project / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "--plugins-dir" in err and "no such folder" in err


def test_bad_files_are_one_line_each_with_their_toml_line(project, capsys):
    suite = project / "suite.toml"
    (project / "plugins" / "taken.py").write_text(FUSION.replace('"max-confidence"', '"concat"'))
    (project / "plugins" / "broken.py").write_text("import not_a_module_anywhere\n")
    suite.write_text(suite.read_text().replace(
        'plugins = ["./plugins/my_fusion.py"]',
        'plugins = ["./plugins/my_fusion.py", "./plugins/taken.py", "./plugins/broken.py",\n'
        '           "./plugins/missing.py"]'))
    catalog = load_catalog()
    with pytest.raises(Exception) as caught:
        run(project, catalog)
    problems = " | ".join(caught.value.problems)
    assert "plugins[1] (line 3): plugin file './plugins/taken.py'" in problems
    assert "fusion name 'concat' is registered twice" in problems
    assert "plugins[2] (line 3)" in problems and "ModuleNotFoundError" in problems
    assert "plugin file './plugins/missing.py' not found" in problems
    assert "max-confidence" in catalog["fusion"]  # the good file is used as usual


def test_worker_processes_of_the_local_executor_load_the_file(project):
    summary = run_suite(project / "suite.toml", Console(file=io.StringIO()),
                        catalog=load_catalog(), executor="local", executor_options={"n_jobs": 2})
    assert summary.ran == 3 and not summary.failed, summary.failed
