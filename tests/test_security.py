"""What a hostile checkout, plugin or suite could make mmbench do, through the CLI: run commands
from a git config, inject terminal or HTML markup, crash a figure with math text, or hide files
from colleagues with the wrong file modes. None of it happens."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from misbehave_kit import install, mmbench
from test_integrity import HOG, LOGREG, TFIDF, suite

RICH = ["[/]", "[link=http://evil.example]click[/link]"]
HTML = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("security") / "site")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=a@b.c", "-c", "user.name=a", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_run_inside_a_hostile_checkout_runs_none_of_its_commands(site, tmp_path):
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", ".")
    (repo / ".gitattributes").write_text("* filter=evil\n")
    (repo / "notes.txt").write_text("a\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "x")
    pwned = tmp_path / "pwned"
    git(repo, "config", "core.fsmonitor", f"touch {pwned}-fsmonitor; false")
    git(repo, "config", "filter.evil.clean", f"touch {pwned}-filter; cat")
    git(repo, "config", "filter.evil.process", f"touch {pwned}-process")
    git(repo, "config", "core.hooksPath", str(tmp_path))
    (repo / "notes.txt").write_text("changed\n")  # a dirty tree: status must look at it
    path = suite(tmp_path / "s", "git", HOG + LOGREG)
    done = mmbench(site, "run", path, cwd=repo)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert not list(tmp_path.glob("pwned*")), "a command of the checkout's git config ran"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True).stdout.strip()
    manifest = json.loads((tmp_path / "s" / "results" / "git" / "manifest.json").read_text())
    assert manifest["git_sha"] == head + "-dirty"


@pytest.fixture(scope="module")
def hostile(site: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """A finished run whose classifier labels hold rich markup and HTML, on a dataset whose
    class names hold math text, HTML and rich tags: (suite, results, the run)."""
    tmp = tmp_path_factory.mktemp("hostile")
    path = tmp / "hostile.toml"
    path.write_text(f"""name = "hostile"
results_dir = "{tmp / 'results'}"
cache_dir = "{tmp / 'cache'}"
seeds = [0]
[[datasets]]
name = "hostile-names"
{HOG}{TFIDF}[[fusions]]
name = "concat"
[[classifiers]]
name = "tagged"
params = {{ tag = {json.dumps([*RICH, HTML])} }}
""")
    return path, tmp / "results" / "hostile", mmbench(site, "run", path)


def test_markup_in_labels_and_paths_is_shown_as_text(site, hostile, tmp_path):
    path, results, run = hostile
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    for done in (run, mmbench(site, "leaderboard", results)):
        assert done.returncode == 0, done.stderr
        for tag in RICH:  # shown literally: not a closing tag, not a hidden hyperlink
            assert tag in done.stdout, done.stdout
        assert "\x1b]8;" not in done.stdout  # no OSC 8 hyperlink escape
    odd = tmp_path / "odd[/]" / "x"  # a results path with markup in it
    shutil.copytree(results, odd)
    done = mmbench(site, "leaderboard", odd)
    assert done.returncode == 0 and "odd[/]" not in done.stderr, done.stderr


def test_markdown_export_and_html_report_let_no_markup_through(site, hostile, tmp_path):
    _, results, _ = hostile
    done = mmbench(site, "export", results, "--format", "markdown")
    assert done.returncode == 0, done.stderr
    assert "<script" not in done.stdout and "<img" not in done.stdout, done.stdout
    assert "&lt;script&gt;" in done.stdout
    assert "\\[link=http://evil.example\\]" in done.stdout  # no Markdown link either
    done = mmbench(site, "report", results, "-o", tmp_path / "r.html")
    assert done.returncode == 0, done.stdout + done.stderr
    html = (tmp_path / "r.html").read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)" in html or "&lt;script&gt;alert(1)" in html.replace(
        "&#34;", '"')


def test_class_names_with_dollar_signs_are_plain_text_in_figures(site, hostile, tmp_path):
    _, results, _ = hostile
    done = mmbench(site, "report", results, "-o", tmp_path / "r.html")
    assert done.returncode == 0, done.stdout + done.stderr
    html = (tmp_path / "r.html").read_text()
    assert "$x^$" in html  # the class name as written, in the confusion matrix's figure


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(*roots: Path) -> dict[str, str]:
    """Every file and folder under ``roots`` -> its permission bits, octal."""
    return {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for root in roots
            for p in [root, *root.rglob("*")] if not p.is_symlink()}


def test_files_mmbench_writes_honour_the_umask(site, tmp_path):
    path = suite(tmp_path, "modes", HOG + LOGREG)
    report = tmp_path / "report.html"
    report.write_text("old")
    report.chmod(0o644)
    with umask(0o022):
        assert mmbench(site, "run", path).returncode == 0
        assert mmbench(site, "report", tmp_path / "results" / "modes", "-o", report
                       ).returncode == 0
        assert mmbench(site, "export", tmp_path / "results" / "modes", "--format", "csv",
                       "-o", tmp_path / "b.csv").returncode == 0
    got = modes(tmp_path / "results", tmp_path / "cache", report, tmp_path / "b.csv")
    files = {p: m for p, m in got.items() if not Path(p).is_dir()}
    assert files and set(files.values()) == {"0o644"}, files
    assert {m for p, m in got.items() if Path(p).is_dir()} == {"0o755"}, got
    with umask(0o077):  # a private umask is honoured too
        assert mmbench(site, "report", tmp_path / "results" / "modes", "-o",
                       tmp_path / "private.html").returncode == 0
    assert modes(tmp_path / "private.html") == {str(tmp_path / "private.html"): "0o600"}
