"""The README's plugin section and the example third-party plugin, exercised for real."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SMOKE
from install_kit import env_with, pip_install

EXAMPLE = REPO / "examples" / "mmbench-example-plugin"


def readme_plugin_section() -> str:
    text = (REPO / "README.md").read_text()
    return text.split("## Writing a plugin", 1)[1].split("\n## ", 1)[0]


def readme_plugin_files() -> dict[str, str]:
    """The section's python and toml blocks, joined by the file their first line names."""
    files: dict[str, str] = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", readme_plugin_section(), re.S):
        if lang not in ("python", "toml"):
            continue
        first = body.splitlines()[0]
        named = re.match(r"# (\S+\.(?:py|toml))", first)
        assert named, f"a {lang} block of 'Writing a plugin' does not start with '# FILE': {first}"
        files[named.group(1)] = files.get(named.group(1), "") + body
    return files


def test_readme_plugin_code_installs_and_its_tests_pass(tmp_path):
    """The README's files, as a project: pip install it, then run its tests with pytest."""
    project, site = tmp_path / "project", tmp_path / "site"
    files = readme_plugin_files()
    assert {"my_plugin.py", "pyproject.toml", "conftest.py", "tests/test_my_plugin.py"} <= set(
        files)
    for rel, text in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    site.mkdir()
    pip_install(site, project)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, env=env_with(site), cwd=project)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    from mmbench.checks import CHECKS

    expected = len(CHECKS["featurizer"]) + len(CHECKS["fusion"]) + 2
    assert f"{expected} passed" in done.stdout, done.stdout[-2000:]


def test_every_hook_is_documented_with_its_arguments():
    import inspect

    from mmbench import hookspecs

    section = readme_plugin_section()
    specs = {n: f for n, f in vars(hookspecs).items() if hasattr(f, "mmbench_spec")}
    assert len(specs) >= 5
    for name, spec in specs.items():
        call = f"`{name}({', '.join(inspect.signature(spec).parameters)})`"
        assert call in section, f"README 'Writing a plugin' does not document {call}"
    mentioned = set(re.findall(r"mmbench_register_\w+", section))
    assert mentioned <= set(specs), f"README names hooks that do not exist: {mentioned - set(specs)}"


def test_readme_commands_parse():
    """Every ``mmbench ...`` line in the README's shell blocks is a valid command line."""
    import shlex

    from mmbench.cli import build_parser

    text = (REPO / "README.md").read_text()
    lines = [ln.split("#")[0].strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)
             for ln in block.splitlines()]
    commands = [shlex.split(ln)[1:] for ln in lines if ln.startswith("mmbench ")]
    commands = [c[:c.index("|")] if "|" in c else c for c in commands]
    assert any(c[0] == "new-plugin" for c in commands)
    for argv in commands:
        build_parser().parse_args(argv)


@pytest.fixture(scope="module")
def example_source(tmp_path_factory) -> Path:
    """A copy of the example package (building and testing write next to the sources)."""
    source = tmp_path_factory.mktemp("src") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "build",
                                                                   "*.egg-info"))
    return source


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory, example_source) -> Path:
    """The example plugin installed from outside the repo into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    pip_install(target, example_source)
    return target


def _mmbench(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mmbench.cli", *args], capture_output=True,
                          text=True, env=env_with(site), cwd=cwd)


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


def test_example_plugins_own_tests_pass_against_the_installed_package(installed_example,
                                                                      example_source):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, env=env_with(installed_example),
                          cwd=example_source)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    from mmbench.checks import CHECKS

    # every classifier rule for two instances, four bad values, the entry point, the suite
    expected = 2 * len(CHECKS["classifier"]) + 4 + 1 + 1
    assert f"{expected} passed" in done.stdout, done.stdout[-2000:]
