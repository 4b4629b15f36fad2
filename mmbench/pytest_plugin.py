"""Opt-in pytest fixtures for plugin authors.

Enable them in your top-level ``conftest.py``::

    pytest_plugins = ["mmbench.pytest_plugin"]

Nothing here is autouse: a test gets a fixture only by naming it.

- ``mmbench_registered``: ``mmbench_registered(plugin, name=None)`` registers a plugin object
  (a module or object with hookimpls) in the process-wide catalog until the test ends, and
  returns the catalog. A plugin that is already installed is left as it is.
- ``mmbench_run_suite``: ``mmbench_run_suite(suite)`` runs a suite (a path or TOML text) with
  results and features kept in the test's ``tmp_path``; returns the run's summary.
- ``mmbench_tiny_data``: :func:`mmbench.testing.tiny_data`, a two-modality dataset.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .plugins import Catalog
from .protocols import MultimodalData
from .testing import registered, tiny_data


@pytest.fixture
def mmbench_registered() -> Iterator[Callable[..., Catalog]]:
    """``register(plugin, name=None) -> Catalog`` for this test only."""
    with ExitStack() as stack:

        def register(plugin: object, name: str | None = None) -> Catalog:
            label = name or getattr(plugin, "__name__", None) or type(plugin).__name__
            return stack.enter_context(registered(plugin, str(label)))

        yield register


@pytest.fixture
def mmbench_run_suite(tmp_path: Path) -> Callable[[str | Path], Any]:
    """``run(suite) -> RunSummary``: run a suite file or TOML text, results in ``tmp_path``."""
    from rich.console import Console

    from .runner import run_suite

    def run(suite: str | Path, **options: Any) -> Any:
        text = Path(suite).read_text() if isinstance(suite, Path) else suite
        head = "".join(
            f'{key} = "{(tmp_path / folder).as_posix()}"\n'
            for key, folder in (("results_dir", "results"), ("cache_dir", "cache"))
            if not re.search(rf"^\s*{key}\s*=", text, re.M)
        )
        path = tmp_path / "suite.toml"
        path.write_text(head + text)
        return run_suite(path, Console(file=io.StringIO(), width=200), **options)

    return run


@pytest.fixture
def mmbench_tiny_data() -> MultimodalData:
    """A two-modality (image + text) dataset of 120 samples, 3 classes."""
    return tiny_data()
