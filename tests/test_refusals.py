"""Bad input that used to end in a traceback hint (exit 1) or in silence: each is one line and
exit 2 before any work, through the CLI (issue 16, item 13). The impossible splits are in
``test_splits``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from misbehave_kit import install, mmbench
from test_integrity import HOG, LOGREG, suite

ONE_LINE = ("error:", "invalid suite")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("refusals") / "site")


@pytest.fixture(scope="module")
def done(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results folder of a finished one-cell run."""
    tmp = tmp_path_factory.mktemp("done")
    assert mmbench(site, "run", suite(tmp, "s", HOG + LOGREG)).returncode == 0
    return tmp / "results" / "s"


def refused(result: subprocess.CompletedProcess[str], says: str) -> str:
    """The one line of a refusal (exit 2, no traceback hint), which says ``says``."""
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith(ONE_LINE)]
    assert len(lines) == 1 and "--debug" not in result.stderr, result.stderr
    assert says in lines[0], lines[0]
    return lines[0]


SUITE = 'name = "enc"\ndescription = "caf\u00e9"\nresults_dir = "RESULTS"\n' + """seeds = [0]
[[datasets]]
name = "synthetic"
params = { n = 60 }
""" + HOG + LOGREG


@pytest.mark.parametrize("encoding, says", [
    ("utf-16", "the file is UTF-16 (it starts with a UTF-16 byte-order mark); TOML files are "
               "UTF-8: save it as UTF-8"),
    ("utf-16-le", "the file holds NUL bytes (UTF-16 without a byte-order mark?)"),
    ("latin-1", "the file is not UTF-8 (byte 0xe9 at line 2, column 19; Latin-1"),
])
def test_a_suite_not_in_utf8_says_so(site, tmp_path, encoding, says):
    path = tmp_path / "enc.toml"
    path.write_bytes(SUITE.replace("RESULTS", str(tmp_path / "r")).encode(encoding))
    for command in ("validate", "run"):
        refused(mmbench(site, command, path), says)
    assert not (tmp_path / "r").exists()


def test_a_suite_with_a_utf8_byte_order_mark_is_read(site, tmp_path):
    path = tmp_path / "enc.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SUITE.replace("RESULTS", str(tmp_path / "r")).encode())
    result = mmbench(site, "run", path)
    assert result.returncode == 0, result.stderr


def test_a_suite_name_too_long_for_a_folder_is_refused(site, tmp_path):
    path = suite(tmp_path, "x", HOG + LOGREG)
    path.write_text(path.read_text().replace('name = "x"', f'name = "{"x" * 300}"'))
    refused(mmbench(site, "validate", path), "name (line 1): String should have at most 100 characters")
    refused(mmbench(site, "run", path), "name (line 1): String should have at most 100 characters")


def test_report_or_export_to_a_folder_or_a_dangling_link(site, done, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "gone" / "r.html")
    refused(mmbench(site, "report", done, "-o", folder), f"report {folder} is a folder; give "
            f"a file name, e.g. {folder / 'report.html'}")
    refused(mmbench(site, "export", done, "--format", "csv", "-o", folder), "is a folder")
    refused(mmbench(site, "report", done, "-o", link), f"report {link} is a symbolic link to "
            f"{tmp_path / 'gone' / 'r.html'}, which does not exist")
    assert list(folder.iterdir()) == []
    record = next((done / "cells").glob("*.json"))  # a record is never overwritten
    refused(mmbench(site, "export", done, "--format", "csv", "-o", record),
            "would be written among the records of the results folder")
    assert record.read_text().startswith("{")
    # a link to an existing file: that file is written, the link kept
    target = tmp_path / "real.html"
    target.write_text("old")
    good = tmp_path / "good.html"
    good.symlink_to(target)
    assert mmbench(site, "report", done, "-o", good).returncode == 0
    assert good.is_symlink() and "<html" in target.read_text()


@pytest.mark.parametrize("value", ["-3", "0"])
def test_n_jobs_below_one_is_refused(site, tmp_path, value):
    path = suite(tmp_path, "j", HOG + LOGREG)
    line = refused(mmbench(site, "run", path, "--n-jobs", value),
                   f"--n-jobs must be a number of worker processes, 1 or more; got {value}")
    assert len(line) < 200
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("value", ["-1", "nan", "1.5"])
def test_compare_alpha_outside_zero_one_is_refused(site, done, value):
    refused(mmbench(site, "compare", done, done, "--alpha", value),
            f"--alpha must be a significance level between 0 and 1 (e.g. 0.05); got ")


def test_a_reader_given_the_parent_folder_names_the_stores_inside(site, done):
    for args in (["leaderboard", done.parent], ["export", done.parent, "--format", "csv"],
                 ["compare", done.parent, done]):
        refused(mmbench(site, *args), f"{done.parent} is not the results of one suite: it "
                f"holds 1 suite result folder(s) (s); name one, e.g. {done}")


def test_a_featurizer_too_wide_for_memory_names_its_parameter(site, tmp_path):
    body = ('[[featurizers]]\nname = "tfidf"\nparams = { max_features = 1000000000, '
            'min_df = 1 }\n' + LOGREG)
    line = refused(mmbench(site, "run", suite(tmp_path, "w", body)),
                   "set a smaller max_features in this featurizer's params in the suite (now "
                   "1,000,000,000: it sets the width of its features)")
    assert "per_class or n param" not in line


# --- folders this user cannot write ------------------------------------------------------

@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder under /tmp that another user can enter (pytest's own are private)."""
    folder = Path(tempfile.mkdtemp(prefix="mmbench-refusals-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def as_another_user(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``mmbench ARGS`` as user nobody when this is root (for whom nothing is read-only), else
    as this user."""
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: no user for whom a folder is "
                        "read-only")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMBENCH_")}
    env.update(HOME=str(home), MMBENCH_CACHE_DIR=str(home / "cache"))
    return subprocess.run([*prefix, sys.executable, "-m", "mmbench.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=home, timeout=300)


def test_a_read_only_or_foreign_results_folder_is_refused_before_any_work(shared):
    home = shared / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    theirs = shared / "theirs"  # a colleague's results folder: not writable for this user
    theirs.mkdir(mode=0o755)
    path = shared / "s.toml"
    path.write_text(f'name = "s"\nresults_dir = "{theirs}"\nseeds = [0]\n[[datasets]]\n'
                    f'name = "synthetic"\nparams = {{ n = 60 }}\n' + HOG + LOGREG)
    path.chmod(0o644)
    line = refused(as_another_user("run", path, home=home), f"results folder {theirs / 's'} is "
                   f"not writable ({theirs} is read-only for this user")
    assert "set results_dir in the suite to a folder you can write" in line
    assert not (home / "cache").exists()  # nothing was featurized


def test_an_unwritable_cache_is_found_before_featurizing(shared):
    home = shared / "home"
    home.mkdir()
    home.chmod(0o777)
    cache = shared / "cache"
    cache.mkdir(mode=0o755)
    path = shared / "s.toml"
    path.write_text(f'name = "s"\nresults_dir = "{home / "results"}"\ncache_dir = "{cache}"\n'
                    'seeds = [0]\n[[datasets]]\nname = "synthetic"\nparams = { n = 60 }\n'
                    + HOG + LOGREG)
    path.chmod(0o644)
    result = as_another_user("run", path, home=home)
    refused(result, f"feature cache {cache / 'features'} is not writable ({cache} is read-only "
            "for this user")
    assert "loading dataset" not in result.stdout  # before any work
