"""The command line: plugins listing, leaderboard from stored results, plain progress lines."""

from __future__ import annotations

import importlib.metadata as md

import pytest

from mmbench import plugins
from mmbench.cli import main


@pytest.fixture
def fresh_catalog():
    plugins.reset_catalog()
    yield
    plugins.reset_catalog()


def test_plugins_lists_kinds_distributions_and_broken_ones(monkeypatch, capsys, fresh_catalog):
    real = md.entry_points(group="mmbench")
    broken = md.EntryPoint(name="broken-one", value="mmbench_missing_mod", group="mmbench")
    every = md.entry_points  # other groups (pydantic's plugins, say) stay as they are
    monkeypatch.setattr(md, "entry_points", lambda **kw: [*real, broken]
                        if kw.get("group") == "mmbench" else every(**kw))
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    for kind, name in [("dataset", "cifar10"), ("featurizer", "tfidf"), ("fusion", "concat"),
                       ("classifier", "xgboost")]:
        assert any(kind in ln and name in ln and "mmbench 0.1.0" in ln
                   for ln in out.splitlines()), (kind, name)
    assert "broken plugin broken-one" in out and "mmbench_missing_mod" in out


def test_run_prints_a_line_per_cell_without_a_terminal_and_leaderboard_again(smoke_suite,
                                                                             tmp_path, capsys):
    assert main(["run", str(smoke_suite)]) == 0
    out = capsys.readouterr().out
    assert sum(ln.startswith("done ") for ln in out.splitlines()) == 8
    assert "8 run, 0 failed" in out
    assert main(["leaderboard", str(tmp_path / "results" / "t"), "--metric", "macro_f1"]) == 0
    board = capsys.readouterr().out
    assert "sorted by macro_f1" in board
    for fusion in ("concat", "late-mean", "unimodal"):
        assert fusion in board


def test_leaderboard_of_nothing_is_a_user_error(tmp_path, capsys):
    assert main(["leaderboard", str(tmp_path)]) == 2
    assert "no result records" in capsys.readouterr().err
