"""The plugin reference generated from the code: ``mmbench plugins NAME [--json]``,
``mmbench plugins --markdown`` and docs/reference.md, which must match what the code says."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Literal

import pytest

import mmbench
from mmbench.cli import main
from mmbench.plugins import get_catalog
from mmbench.reference import (describe_entry, first_sentence, markdown_reference, paragraphs,
                               split_docstring)
from mmbench.testing import registered

REPO = Path(__file__).resolve().parents[1]
COMMAND = "mmbench plugins --markdown --distribution mmbench > docs/reference.md"


def builtins() -> list:
    catalog = get_catalog()
    mine = [b.message for b in catalog.broken if b.distribution == "mmbench"]
    assert not mine, f"built-in plugins failed to load: {mine}"
    return [e for r in catalog.registries.values() for e in r if e.distribution == "mmbench"]


def test_reference_file_is_up_to_date() -> None:
    builtins()
    expected = markdown_reference(get_catalog(), ["mmbench"])
    current = (REPO / "docs" / "reference.md").read_text()
    assert current == expected, f"docs/reference.md is out of date; regenerate it: {COMMAND}"


def test_every_builtin_parameter_is_documented() -> None:
    """Each parameter has a description, and each ``:param x:`` names a real parameter."""
    undocumented, stale = [], []
    for entry in builtins():
        d = describe_entry(entry)
        undocumented += [f"{entry.kind} {entry.name}: {p['name']}" for p in d["params"]
                         if not p["doc"]]
        for klass in entry.cls.__mro__:
            _, fields = split_docstring(klass.__dict__.get("__doc__") or "")
            stale += [f"{klass.__qualname__}: {f}" for f in fields
                      if f not in entry.params and klass is entry.cls]
    assert not undocumented, f"parameters without a :param: line: {undocumented}"
    assert not stale, f":param: lines naming no parameter: {stale}"


def test_plugins_name_shows_kind_facts_doc_and_every_parameter(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "hog"]) == 0  # an alias finds hog-color
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    assert "hog-color (featurizer, aliases: hog)" in flat
    assert "modality: image" in flat and "distribution mmbench" in flat
    for name in ("orientations", "pixels_per_cell", "cells_per_block", "color_bins"):
        assert name in out
    assert "side of a HOG cell in pixels" in flat  # the :param: text
    assert "`" not in out  # rendered, no raw reST or Markdown backquotes
    assert ":param" not in out

    assert main(["plugins", "low-rank-tensor"]) == 0
    flat = " ".join(capsys.readouterr().out.split())
    doc = " ".join(split_docstring(inspect.getdoc(get_catalog()["fusion"].get("lmf").cls))[0]
                   .replace("``", "").split())
    assert doc in flat  # every paragraph in full, markup removed, "[x, 1]" kept
    assert "level: structure" in flat and "needs modalities: 2" in flat


def test_plugins_name_json_has_types_defaults_and_allowed_values(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "concat", "--json"]) == 0
    [concat] = json.loads(capsys.readouterr().out)
    assert concat["kind"] == "fusion" and concat["level"] == "feature"
    [normalize] = concat["params"]
    assert normalize["type"] == "str" and normalize["default"] == "standard"
    assert normalize["allowed"] == ["'standard'", "'l2'", "'none'"]  # from the Literal
    assert "zero mean, unit variance" in normalize["doc"]

    assert main(["plugins", "mlp", "--json"]) == 0
    [mlp] = json.loads(capsys.readouterr().out)
    params = {p["name"]: p for p in mlp["params"]}
    assert "a float in the range [0.0, 1.0)" in params["dropout"]["allowed"]  # sklearn's rules
    assert params["random_state"]["context"] and params["random_state"]["default"] is None
    assert mlp["summary"] and "``" not in json.dumps(mlp["doc"])

    assert main(["plugins", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    names = {(d["kind"], d["name"]) for d in listing["reference"]}
    assert ("fusion", "concat") in names and ("classifier", "mlp") in names


def test_unknown_plugin_name_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "tfidff"]) == 2
    err = capsys.readouterr().err
    assert "unknown plugin 'tfidff'; did you mean 'tfidf'?" in " ".join(err.split())
    assert main(["plugins", "tfidf", "--kind", "fusion"]) == 2
    assert "unknown fusion 'tfidf'" in capsys.readouterr().err


class _Gated(mmbench.protocols.FusionBase):
    """A gated unit (``z = sigmoid(W [x, t])``) mixing ``dim``-wide projections of the two
    modalities. It learns a softmax head of its own, e.g. for J. Arevalo et al. 2017.

    Second paragraph: with ``head = "softmax"`` the cell's classifier is not used.

    :param dim: width of the projections.
    :param head: ``"softmax"`` (its own head) or ``"classifier"`` (the cell's classifier on
        the gated representation).
    :returns: nothing shown.
    """

    level = "structure"
    min_modalities = 2

    def __init__(self, *, dim: int = 16, head: Literal["softmax", "classifier"] = "softmax",
                 scale: float | None = None) -> None:
        self.dim, self.head, self.scale = dim, head, scale

    def fit(self, views, y, make_classifier):  # type: ignore[no-untyped-def]
        return self

    def predict_proba(self, views):  # type: ignore[no-untyped-def]
        raise NotImplementedError


class _GatedPlugin:
    @staticmethod
    @mmbench.hookimpl
    def mmbench_register_fusions(register):  # type: ignore[no-untyped-def]
        register(_Gated, name="gated")


def test_a_third_party_plugin_is_described_from_its_code(
        capsys: pytest.CaptureFixture[str]) -> None:
    with registered(_GatedPlugin(), "gated-plugin"):
        assert main(["plugins", "gated"]) == 0
        flat = " ".join(capsys.readouterr().out.split())
        markdown = markdown_reference(get_catalog())
    assert "A gated unit (z = sigmoid(W [x, t])) mixing dim-wide projections" in flat
    assert "Second paragraph: with head = \"softmax\" the cell's classifier is not used." in flat
    assert "width of the projections" in flat and "nothing shown" not in flat
    assert "'softmax'; 'classifier'" in flat  # the Literal's values
    assert "float | None" in flat
    assert "### `gated`" in markdown and "| `dim` | int | `16` |" in markdown


def test_a_class_without_a_docstring_is_not_described_by_its_base() -> None:
    from mmbench.reference import summary_of

    class Bare(mmbench.protocols.FusionBase):
        level = "feature"
        min_modalities = 2

    assert mmbench.protocols.FusionBase.__doc__ and summary_of(Bare) == ""


def test_docstring_helpers() -> None:
    doc, fields = split_docstring("""Summary line
    that wraps.

    - an item
      that wraps
    - another

        indented()

    :param a: first
        continued.
    :param int b: typed
    :raises ValueError: not a parameter
        nor this.
    """)
    assert fields == {"a": "first continued.", "b": "typed"}
    assert paragraphs(doc) == ["Summary line that wraps.", "- an item that wraps", "- another",
                               "indented()"]
    assert first_sentence("Tensor fusion (Zadeh et al. 2017): x. Then y.") == \
        "Tensor fusion (Zadeh et al. 2017): x."
