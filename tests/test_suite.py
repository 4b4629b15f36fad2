"""Suite validation: structure, plugin names and params, sweeps, locations, the CLI's answer."""

from __future__ import annotations

import pytest

from mmbench.cli import main
from mmbench.errors import SuiteError
from mmbench.plan import plan_suite
from mmbench.plugins import get_catalog
from mmbench.suite import expand_params, load_suite

from conftest import REPO, SMOKE


def plan(path):
    return plan_suite(load_suite(path), get_catalog())


def problems(path) -> list[str]:
    with pytest.raises(SuiteError) as err:
        plan(path)
    return err.value.problems


def test_cell_count_of_the_cross_product(write_suite):
    p = plan(write_suite(SMOKE))
    # (2 unimodal + concat + late-mean) x 1 classifier x 2 seeds
    assert len(p.cells) == 8
    assert len({c.cell_id for c in p.cells}) == 8
    levels = sorted({c.level for c in p.cells})
    assert levels == ["decision", "feature", "unimodal"]


def test_list_params_sweep_and_nested_lists_do_not(write_suite):
    assert len(expand_params({"a": [1, 2], "b": [3, 4, 5], "c": "x"})) == 6
    assert expand_params({"r": [[1, 2]]}) == [{"r": [1, 2]}]
    text = SMOKE.replace('name = "logreg"', 'name = "logreg"\nparams = { C = [0.1, 1, 10] }')
    assert len(plan(write_suite(text)).cells) == 24


def test_cell_ids_are_stable_across_loads(write_suite):
    path = write_suite(SMOKE)
    assert [c.cell_id for c in plan(path).cells] == [c.cell_id for c in plan(path).cells]


def test_malformed_toml(write_suite):
    (msg,) = problems(write_suite('name = "x"\nseeds = [0,'))
    assert msg.startswith("malformed TOML")


def test_unknown_field_is_forbidden_with_its_line(write_suite):
    path = write_suite(SMOKE.replace('name = "late-mean"', 'name = "late-mean"\nwieght = 2'))
    (msg,) = problems(path)
    line = path.read_text().splitlines().index("wieght = 2") + 1
    assert msg == f"fusions[1].wieght (line {line}): unknown field (not allowed here)"


def test_unknown_plugin_and_wrong_param_are_all_reported(write_suite):
    text = SMOKE.replace('name = "concat"', 'name = "concatt"').replace(
        'name = "logreg"', 'name = "logreg"\nparams = { Cc = 1.0 }'
    )
    path = write_suite(text)
    found = problems(path)
    assert any("unknown fusion 'concatt'; did you mean 'concat'" in p for p in found)
    bad = [p for p in found if "invalid parameter 'Cc'" in p]
    assert bad and "valid: C, max_iter" in bad[0]
    line = path.read_text().splitlines().index("params = { Cc = 1.0 }") + 1
    assert f"classifiers[0].params.Cc (line {line})" in bad[0]


def test_param_values_are_checked_by_the_plugin(write_suite):
    found = problems(write_suite(SMOKE.replace('name = "logreg"',
                                               'name = "logreg"\nparams = { C = -1 }')))
    assert any("classifier 'logreg' rejected C = -1" in p for p in found)


def test_featurizer_for_a_modality_the_dataset_lacks(write_suite):
    text = SMOKE + '\n[[datasets]]\nname = "synthetic"\nparams = { n = 60, seed = 3 }\n'
    assert len(plan(write_suite(text)).cells) == 16  # two datasets

    class_text = SMOKE.replace('n = 150, n_classes = 3', 'n = 10, n_classes = 3')
    assert any("n must be an integer" in p for p in problems(write_suite(class_text)))


def test_fusion_asking_for_a_missing_modality(write_suite):
    text = SMOKE.replace('name = "concat"', 'name = "concat"\nmodalities = ["image", "audio"]')
    (msg,) = problems(write_suite(text))
    assert "asks for modalities ['audio']" in msg and "fusions[0].modalities" in msg


def test_structure_errors_have_locations(write_suite):
    found = problems(write_suite(SMOKE.replace("seeds = [0, 1]", "seeds = [0, 0]")
                                 .replace('name = "synthetic"', 'name = "synthetic"\nsplit = { method = "holdout" }')))
    assert any(p.startswith("seeds (line") and "repeat" in p for p in found)
    assert any(p.startswith("datasets[0].split.method") for p in found)


def test_validate_cli_exit_codes(write_suite, capsys):
    assert main(["validate", str(write_suite(SMOKE))]) == 0
    assert "8 cells planned" in capsys.readouterr().out
    bad = write_suite(SMOKE.replace('name = "tfidf"', 'name = "tfidff"'), "bad.toml")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "featurizers[1]" in err and "did you mean 'tfidf'" in err and "Traceback" not in err


def test_missing_suite_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.toml")]) == 2
    assert "cannot read the suite" in capsys.readouterr().err


def test_only_tables_narrow_the_cross_product(write_suite):
    text = SMOKE + """
[[featurizers]]
name = "pixels"

[[classifiers]]
name = "xgboost"
only = { fusions = ["unimodal", "concat"], featurizers = ["hog-color", "tfidf"] }
"""
    text = text.replace('name = "late-mean"', 'name = "late-mean"\nonly = { classifiers = ["logreg"] }')
    cells = plan(write_suite(text)).cells
    xgb = [c for c in cells if c.classifier.name == "xgboost"]
    # xgboost: unimodal hog + unimodal tfidf + concat(hog, tfidf), x 2 seeds
    assert len(xgb) == 6
    assert {c.fusion.name for c in xgb} == {"unimodal", "concat"}
    assert all(f.name != "pixels" for c in xgb for _, f in c.featurizers)
    # logreg keeps the full cross-product: 3 unimodal + 2 concat + 2 late-mean, x 2 seeds
    assert len([c for c in cells if c.classifier.name == "logreg"]) == 14


def test_two_entries_of_one_variant_plan_the_union_of_their_only_tables(write_suite):
    """The same fusion (or classifier) twice with different ``only`` tables: each entry adds
    its cells, once each (the second entry used to replace the first's table silently)."""
    text = SMOKE + """
[[featurizers]]
name = "pixels"

[[classifiers]]
name = "xgboost"
only = { fusions = ["unimodal"], featurizers = ["tfidf"] }

[[classifiers]]
name = "xgboost"
only = { fusions = ["concat"], featurizers = ["pixels", "tfidf"] }
"""
    text = text.replace('name = "concat"', 'name = "concat"\nonly = { featurizers = ["hog-color", "tfidf"] }')
    text = text.replace('[[fusions]]\nname = "late-mean"', '[[fusions]]\nname = "concat"\n'
                        'only = { featurizers = ["pixels", "tfidf"] }\n\n'
                        '[[fusions]]\nname = "late-mean"')
    cells = plan(write_suite(text)).cells
    assert len({c.cell_id for c in cells}) == len(cells)  # no cell planned twice
    concat = {tuple(f.name for _, f in c.featurizers) for c in cells if c.fusion.name == "concat"}
    assert concat == {("hog-color", "tfidf"), ("pixels", "tfidf")}
    xgb = sorted((c.fusion.name, tuple(f.name for _, f in c.featurizers))
                 for c in cells if c.classifier.name == "xgboost" and c.seed == 0)
    assert xgb == [("concat", ("pixels", "tfidf")), ("unimodal", ("tfidf",))]


def test_only_names_are_checked(write_suite):
    text = SMOKE.replace('name = "concat"',
                         'name = "concat"\nonly = { classifiers = ["xgboost", "logregg"] }')
    found = problems(write_suite(text))
    assert any("fusions[0].only.classifiers" in p and "classifier 'xgboost' is not in this suite"
               in p for p in found)
    assert any("unknown classifier 'logregg'; did you mean 'logreg'" in p for p in found)


@pytest.mark.parametrize("path", sorted((REPO / "suites").glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_suite_validates(path, capsys):
    """The suites under suites/ plan without a problem (a shipped suite is documentation)."""
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    assert "cells planned" in capsys.readouterr().out
