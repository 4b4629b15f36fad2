"""Parameter values checked at validation: types from ``__init__`` annotations, a refused value
located at its parameter's TOML line, and one message per entry rather than per sweep variant."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Literal, Optional, Union

import numpy as np
import pytest

import mmbench
from mmbench.cli import main
from mmbench.paramcheck import annotations_of, type_problem
from mmbench.plugins import get_catalog
from mmbench.protocols import FusionBase
from mmbench.testing import registered

SUITE = """
name = "types"
results_dir = "{tmp}/results"
cache_dir = "{tmp}/cache"

[[datasets]]
name = "synthetic"
params = {{ n = 60 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 32, min_df = 1 }}

[[fusions]]
name = "{fusion}"
{fusion_params}

[[classifiers]]
name = "logreg"
{classifier_params}
"""


def write(tmp_path: Path, fusion: str = "concat", fusion_params: str = "",
          classifier_params: str = "") -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(tmp=tmp_path, fusion=fusion, fusion_params=fusion_params,
                                 classifier_params=classifier_params))
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


class Unchecked(FusionBase):
    """A fusion that checks none of its parameters itself (as a quick research plugin)."""

    level = "feature"
    min_modalities = 2

    def __init__(self, *, hidden_dim: int = 64, head: Literal["softmax", "classifier"] =
                 "softmax", scale: Optional[float] = None, gate: Union[bool, str] = True,
                 sizes: tuple[int, ...] = (1,)) -> None:
        self.hidden_dim, self.head, self.scale, self.gate = hidden_dim, head, scale, gate
        self.sizes = sizes

    def fit(self, views, y, make_classifier):  # type: ignore[no-untyped-def]
        np.empty(self.hidden_dim)  # a string here: TypeError mid-run, without the check
        self._set_classes(y)
        return self

    def predict_proba(self, views):  # type: ignore[no-untyped-def]
        return np.tile(self.prior_, (len(next(iter(views.values()))), 1))


class Plugin:
    @staticmethod
    @mmbench.hookimpl
    def mmbench_register_fusions(register):  # type: ignore[no-untyped-def]
        register(Unchecked, name="unchecked")


@pytest.fixture
def unchecked():  # type: ignore[no-untyped-def]
    with registered(Plugin(), "unchecked-plugin"):
        yield


def test_a_string_for_an_int_is_refused_by_validate(tmp_path: Path, unchecked: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "unchecked", 'params = { hidden_dim = "64" }')
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    line = line_of(path, 'hidden_dim = "64"')
    assert (f"fusions[0].params.hidden_dim (line {line}): fusion 'unchecked': hidden_dim must "
            f'be an integer, got the string "64"; write hidden_dim = 64 (no quotes)') in err
    assert not (tmp_path / "results").exists()  # nothing ran, nothing recorded


@pytest.mark.parametrize("params,fragment", [
    ('head = "sofmax"', 'head must be one of "softmax", "classifier", got the string "sofmax"; '
                        'did you mean "softmax"?'),
    ("scale = true", "scale must be a number or unset, got the boolean true"),
    ("gate = 3", "gate must be true or false or a string, got the integer 3"),
    ("hidden_dim = [8, 16.5]", "hidden_dim must be an integer, got the number 16.5"),
])
def test_literal_optional_union_and_sweep_values(tmp_path: Path, unchecked: None,
                                                  params: str, fragment: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "unchecked", f"params = {{ {params} }}")
    assert main(["validate", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert fragment in err and f"(line {line_of(path, params)})" in err


def test_values_that_fit_their_annotations_validate(tmp_path: Path, unchecked: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "unchecked", 'params = { hidden_dim = [8, 16], head = "classifier", '
                                        'scale = 2, gate = "soft", sizes = [[1, 2]] }')
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err


def test_type_problem_rules() -> None:
    assert type_problem("x", int, True) is not None  # a bool is no integer
    assert type_problem("x", float, 3) is None  # an integer is a number
    assert type_problem("x", bool, 1) is not None
    assert type_problem("x", int | None, 2) is None
    assert type_problem("x", Literal[1, 2], 1.0) is not None
    assert type_problem("x", list[int], "anything") is None  # not checked here
    assert type_problem("x", inspect.Parameter.empty, "anything") is None
    assert "write x = 0.5" in (type_problem("x", float, "0.5") or "")


def test_every_builtin_default_fits_its_annotation() -> None:
    """The annotations the check trusts agree with the built-ins' own defaults."""
    wrong = []
    for registry in get_catalog().registries.values():
        for entry in registry:
            hints = annotations_of(entry.cls)
            for name, p in entry.params.items():
                if p.default is not inspect.Parameter.empty and p.default is not None:
                    problem = type_problem(name, hints.get(name, p.annotation), p.default)
                    if problem:
                        wrong.append(f"{entry.kind} {entry.name}: {problem}")
    assert not wrong, wrong


def test_a_refused_value_points_at_its_line_once_per_entry(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "late-weighted", 'params = { primary = "text", alpha = 1.5 }',
                 "params = { max_iter = [100, 200, 300], C = -1 }")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    problems = [ln.strip() for ln in err.splitlines()[1:]]
    assert len(problems) == 2, err  # not one per sweep variant
    alpha_line, c_line = line_of(path, "alpha = 1.5"), line_of(path, "C = -1")
    assert problems[0].startswith(f"fusions[0].params.alpha (line {alpha_line}): fusion "
                                  f"'late-weighted' rejected alpha = 1.5: alpha must be")
    assert problems[1].startswith(f"classifiers[0].params.C (line {c_line}): classifier "
                                  "'logreg' rejected C = -1:")
    assert problems[1].endswith("(in 3 of 3 sweep variants)")


class Picky(FusionBase):
    """Refuses a combination without naming a parameter."""

    level = "feature"
    min_modalities = 2

    def __init__(self, *, width: int = 4, depth: int = 1) -> None:
        if width * depth > 10:
            raise ValueError("the network is too big")
        if width == 3:
            raise ValueError("odd sizes are not supported")
        self.width, self.depth = width, depth

    def fit(self, views, y, make_classifier):  # type: ignore[no-untyped-def]
        return self

    def predict_proba(self, views):  # type: ignore[no-untyped-def]
        raise NotImplementedError


class PickyPlugin:
    @staticmethod
    @mmbench.hookimpl
    def mmbench_register_fusions(register):  # type: ignore[no-untyped-def]
        register(Picky, name="picky")


def test_a_refusal_naming_no_parameter_is_located_by_trying_each(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with registered(PickyPlugin(), "picky-plugin"):
        path = write(tmp_path, "picky", "params = { depth = 1, width = 3 }")
        assert main(["validate", str(path)]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert (f"fusions[0].params.width (line {line_of(path, 'width = 3')}): fusion 'picky' "
                "rejected width = 3: odd sizes are not supported") in err
        # the combination is at fault, not one parameter: the entry's header is named
        path = write(tmp_path, "picky", "params = { depth = 2, width = 6 }")
        assert main(["validate", str(path)]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert f"fusions[0] (line {line_of(path, '[[fusions]]')}): fusion 'picky' rejected" in err
        assert "the network is too big" in err
