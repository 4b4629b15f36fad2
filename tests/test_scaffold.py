"""``mmbench new-plugin`` tried as a new plugin author would: scaffold each kind, pip install,
run the package's own tests, see it in ``mmbench plugins --json``, name it in a suite."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmbench.checks import CHECKS
from mmbench.cli import main
from mmbench.scaffold import FIXTURE, KINDS, plugin_names

from conftest import REPO
from install_kit import env_with, pip_install

#: tests each generated package has besides one per conformance rule
OWN_TESTS = 3


@pytest.fixture(scope="module")
def scaffolds(tmp_path_factory) -> tuple[Path, Path]:
    """(folder holding the four generated packages, folder they are pip-installed into)."""
    parent = tmp_path_factory.mktemp("authors")
    for kind in KINDS:
        assert main(["new-plugin", f"mmbench-e2e-{kind}", "--kind", kind, "--dir",
                     str(parent)]) == 0
    site = tmp_path_factory.mktemp("site")
    pip_install(site, *(parent / f"mmbench-e2e-{k}" for k in KINDS))
    return parent, site


@pytest.fixture(scope="module")
def own_test_results(scaffolds) -> dict[str, list[ET.Element]]:
    """Each package's own tests, run by pytest against the installed packages: test cases by
    the file they are in."""
    parent, site = scaffolds
    report = parent / "report.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--junitxml={report}", *(str(parent / f"mmbench-e2e-{k}") for k in KINDS)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=parent, env=env_with(site))
    assert report.is_file(), done.stdout + done.stderr
    cases: dict[str, list[ET.Element]] = {}
    for case in ET.parse(report).iter("testcase"):
        cases.setdefault(case.get("classname", "").rsplit(".", 1)[-1], []).append(case)
    return cases


@pytest.mark.parametrize("kind", KINDS)
def test_generated_package_passes_its_own_tests(kind, own_test_results):
    module = plugin_names(f"mmbench-e2e-{kind}").module
    cases = own_test_results.get(f"test_{module}", [])
    failed = [(c.get("name"), ET.tostring(c, encoding="unicode")[:2000]) for c in cases
              if c.find("failure") is not None or c.find("error") is not None
              or c.find("skipped") is not None]
    assert not failed, failed
    assert len(cases) == len(CHECKS[kind]) + OWN_TESTS, [c.get("name") for c in cases]


def test_installed_packages_are_listed_by_plugins_json(scaffolds):
    _, site = scaffolds
    done = subprocess.run([sys.executable, "-m", "mmbench.cli", "plugins", "--json"],
                          capture_output=True, text=True, env=env_with(site), cwd=site)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["broken"] == []
    plugins = {p["name"]: p for p in report["plugins"]}
    for kind in KINDS:
        entry = plugins[f"e2e-{kind}"]
        assert entry["distribution"] == f"mmbench-e2e-{kind}" and entry["version"] == "0.1.0"
        assert [e["name"] for e in entry["registered"][kind]] == [f"e2e-{kind}"]


def test_one_suite_names_all_four_and_runs(scaffolds, write_suite):
    parent, site = scaffolds
    suite = write_suite("""
        name = "e2e"
        seeds = [0]
        [[datasets]]
        name = "e2e-dataset"
        params = { path = "DATA" }
        [[featurizers]]
        name = "e2e-featurizer"
        params = { bins = 3 }
        [[featurizers]]
        name = "tfidf"
        params = { max_features = 32, min_df = 1 }
        [[fusions]]
        name = "e2e-fusion"
        [[classifiers]]
        name = "e2e-classifier"
    """.replace("DATA", (parent / "mmbench-e2e-dataset" / FIXTURE).as_posix()))
    done = subprocess.run([sys.executable, "-m", "mmbench.cli", "run", str(suite)],
                          capture_output=True, text=True, env=env_with(site), cwd=parent)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "3 run, 0 failed" in done.stdout
    row = next(ln for ln in done.stdout.splitlines() if "e2e-fusion" in ln and "│" in ln)
    assert "e2e-featurizer(bins=3)" in row and "e2e-classifier" in row


def test_refuses_to_overwrite_a_folder(tmp_path, capsys):
    (tmp_path / "mmbench-taken").mkdir()
    (tmp_path / "mmbench-taken" / "keep.txt").write_text("mine")
    assert main(["new-plugin", "mmbench-taken", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "already exists; new-plugin never overwrites" in err
    assert [p.name for p in (tmp_path / "mmbench-taken").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("name,message", [
    ("my fusion", "invalid plugin name 'my fusion': a distribution name is letters, digits"),
    ("fusion-", "invalid plugin name 'fusion-'"),
    ("3d-fusion", "its package would be '3d_fusion', which is not a Python identifier"),
    ("class", "its package would be 'class', which is not a Python identifier"),
    ("mmbench", "name the plugin after what it does"),
    ("numpy", "a module named 'numpy' is already importable"),
    ("mmbench-concat", "fusion name 'concat' is already registered by plugin 'fusion' (mmbench)"),
])
def test_invalid_names_get_one_line_saying_why(name, message, tmp_path, capsys):
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


def test_names_are_derived_from_the_distribution_name():
    names = plugin_names("MMBench_Median.Fusion")
    assert (names.module, names.plugin_name, names.class_name) == (
        "mmbench_median_fusion", "median-fusion", "MedianFusion")


def test_every_template_is_package_data():
    """The templates ship in mmbench's wheel: pyproject's package-data globs match them all."""
    import tomllib

    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["mmbench"]
    package = REPO / "mmbench"
    shipped = {p for g in globs for p in package.glob(g)}
    templates = {p for p in (package / "templates").rglob("*") if p.is_file()
                 and "__pycache__" not in p.parts}
    assert templates and templates <= shipped, sorted(map(str, templates - shipped))


def test_several_kinds_in_one_package_pass_their_own_tests(tmp_path):
    assert main(["new-plugin", "mmbench-duo", "--kind", "fusion,featurizer,dataset", "--dir",
                 str(tmp_path)]) == 0
    package = tmp_path / "mmbench-duo"
    assert {p.name for p in (package / "mmbench_duo").iterdir()} >= {
        "__init__.py", "fusion.py", "featurizer.py", "dataset.py"}
    suite = (package / "suite.toml").read_text()
    for name in ("duo-fusion", "duo-featurizer", "duo-dataset"):
        assert f'name = "{name}"' in suite
    site = tmp_path / "site"
    site.mkdir()
    pip_install(site, package)
    report = tmp_path / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={report}", str(package)], capture_output=True,
                          text=True, cwd=tmp_path, env=env_with(site))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    cases = list(ET.parse(report).iter("testcase"))
    rules = sum(len(CHECKS[k]) for k in ("fusion", "featurizer", "dataset"))
    assert len(cases) == rules + 3 + 2  # a bad value per kind, the entry point, the suite


@pytest.mark.parametrize("kinds,message", [
    ("fusion,fusoin", "unknown plugin kind 'fusoin'; choose one or more of"),
    ("fusion,fusion", "names a kind twice"),
])
def test_bad_kind_lists_are_one_line(kinds, message, tmp_path, capsys):
    assert main(["new-plugin", "mmbench-x", "--kind", kinds, "--dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_generated_tests_use_only_documented_api():
    """Every attribute the generated tests read off the catalog and the run summary, and the
    optional plugin extras, are documented in the README."""
    import re

    from mmbench.scaffold import render

    readme = (REPO / "README.md").read_text()
    text = "".join(v for k, v in render(list(KINDS), plugin_names("mmbench-doc")).items()
                   if k.startswith("tests/"))
    used = set(re.findall(r"\b(summary\.\w+|catalog\.\w+|b\.\w+|load_catalog)\b", text))
    assert {"summary.ran", "summary.failed", "catalog.broken", "b.message", "load_catalog"} <= used
    for name in used | {"check_dims(dims)", "output_dim"}:
        attr = name.split(".")[-1].split("(")[0]
        assert re.search(rf"`[^`\n]*\b{attr}\b[^`\n]*`", readme), f"{name} is not documented"
