"""Bad fusion settings are caught when a suite is validated, with their TOML location."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmbench.cli import main
from mmbench.errors import SuiteError
from mmbench.plan import plan_suite
from mmbench.plugins import get_catalog
from mmbench.suite import load_suite

HEAD = """name = "bad"

[[datasets]]
name = "synthetic"
params = { n = 60 }

[[featurizers]]
name = "hog-color"
params = { pixels_per_cell = 4 }

[[featurizers]]
name = "tfidf"
params = { max_features = 32, min_df = 1 }

[[classifiers]]
name = "logreg"
"""


def write(tmp_path: Path, fusions: str) -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(HEAD + fusions)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SuiteError) as info:
        plan_suite(load_suite(path), get_catalog())
    return info.value.problems


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_more_modalities_than_the_dataset_has(tmp_path: Path) -> None:
    path = write(tmp_path, '\n[[fusions]]\nname = "late-mean"\n'
                           'modalities = ["image", "text", "audio"]\n')
    [msg] = problems(path)
    assert f"fusions[0].modalities (line {line_of(path, 'modalities =')})" in msg
    assert "['audio']" in msg and "does not have" in msg


def test_fewer_modalities_than_the_strategy_needs(tmp_path: Path) -> None:
    path = write(tmp_path, '\n[[fusions]]\nname = "stacking"\nmodalities = ["text"]\n')
    [msg] = problems(path)
    header = line_of(path, "[[fusions]]")
    assert msg.startswith(f"fusions[0] (line {header})")
    assert "needs 2 modalities" in msg


def test_a_modality_subset_plans(tmp_path: Path) -> None:
    path = write(tmp_path, '\n[[fusions]]\nname = "cca"\nmodalities = ["image", "text"]\n'
                           'params = { n_components = 4 }\n')
    plan = plan_suite(load_suite(path), get_catalog())
    fused = [c for c in plan.cells if c.level == "structure"]
    assert len(fused) == 1 and fused[0].modalities == ("image", "text")
    assert len(plan.cells) == 3  # plus the two unimodal baselines


@pytest.mark.parametrize("name", ["late-weighted", "weighted-sum"])
def test_alpha_outside_the_unit_interval(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f'\n[[fusions]]\nname = "{name}"\nparams = {{ alpha = [0.5, 1.5] }}\n')
    [msg] = problems(path)
    assert f"fusions[0].params.alpha (line {line_of(path, 'alpha =')})" in msg
    assert "rejected alpha = 1.5: alpha must be a number in [0, 1], got 1.5" in msg


@pytest.mark.parametrize("name,param", [("cca", "n_components"), ("pls", "n_components"),
                                        ("weighted-sum", "dim"), ("tensor", "dim")])
def test_dimension_larger_than_the_features(tmp_path: Path, name: str, param: str) -> None:
    path = write(tmp_path, f'\n[[fusions]]\nname = "{name}"\nparams = {{ {param} = 40 }}\n')
    [msg] = problems(path)
    assert f"fusions[0].params (line {line_of(path, f'{param} = 40')})" in msg
    assert f"{param}=40" in msg and "text features' dimension (32)" in msg


def test_primary_must_be_fused(tmp_path: Path) -> None:
    path = write(tmp_path, '\n[[fusions]]\nname = "late-weighted"\n'
                           'params = { primary = "audio" }\n')
    [msg] = problems(path)
    assert "primary='audio'" in msg and "fusions[0].params" in msg


def test_validate_cli_exits_2_with_the_location(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, '\n[[fusions]]\nname = "late-weighted"\nparams = { alpha = 2 }\n'
                           '\n[[fusions]]\nname = "cca"\nparams = { n_components = 99 }\n')
    assert main(["validate", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "fusions[0].params.alpha (line" in err and "alpha must be a number in [0, 1], got 2" in err
    assert "fusions[1].params (line" in err and "n_components=99" in err
    good = write(tmp_path, '\n[[fusions]]\nname = "late-weighted"\nparams = { alpha = 1 }\n')
    assert main(["validate", str(good)]) == 0
