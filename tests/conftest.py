"""Shared fixtures: every test gets its own cache dir; suites are written into tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep tests away from the user's cache (features, unpacked archives)."""
    if "MMBENCH_CACHE_DIR" not in __import__("os").environ:
        monkeypatch.setenv("MMBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def write_suite(tmp_path: Path) -> Callable[[str], Path]:
    """Write a suite TOML into tmp_path; results and features stay in tmp_path too."""

    def write(body: str, name: str = "suite.toml") -> Path:
        text = textwrap.dedent(body).strip() + "\n"
        if "results_dir" not in text:
            text = f'results_dir = "{tmp_path / "results"}"\ncache_dir = "{tmp_path / "cache"}"\n' + text
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


SMOKE = """
name = "t"
seeds = [0, 1]

[[datasets]]
name = "synthetic"
params = { n = 150, n_classes = 3 }

[[featurizers]]
name = "hog-color"
params = { pixels_per_cell = 4 }

[[featurizers]]
name = "tfidf"
params = { max_features = 64, min_df = 1 }

[[fusions]]
name = "concat"

[[fusions]]
name = "late-mean"

[[classifiers]]
name = "logreg"
"""


@pytest.fixture
def smoke_suite(write_suite: Callable[[str], Path]) -> Path:
    return write_suite(SMOKE)
