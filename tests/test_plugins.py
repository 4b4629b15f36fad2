"""Plugin discovery through entry points, isolation of broken plugins, the registry's rules."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import types

import pytest

import mmbench
from mmbench.errors import DuplicateNameError, UnknownNameError
from mmbench.plugins import load_catalog, new_catalog
from mmbench.testing import registered

BUILTINS = {"cifar10", "synthetic", "classic-features", "sklearn", "fusion"}


def test_builtins_are_found_through_entry_points_not_imports() -> None:
    code = (
        "import sys, importlib.metadata as md\n"
        "from mmbench.plugins import load_catalog\n"
        "assert not [m for m in sys.modules if m.startswith('mmbench_')], 'imported early'\n"
        "eps = {e.name: e.value for e in md.entry_points(group='mmbench')}\n"
        "c = load_catalog()\n"
        "e = c['fusion'].get('concat')\n"
        "assert eps[e.plugin] == e.cls.__module__.split('.')[0], (e.plugin, eps)\n"
        "assert e.distribution == 'mmbench', e.distribution\n"
        "print(sorted(eps))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert BUILTINS <= set(eval(out.stdout))


def test_no_entry_points_means_no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(md, "entry_points", lambda **kw: [])
    catalog = load_catalog()
    assert all(len(r) == 0 for r in catalog.registries.values())


def _fake_entry_point(name: str, value: str) -> md.EntryPoint:
    return md.EntryPoint(name=name, value=value, group="mmbench")


def test_plugin_that_fails_to_import_is_reported_not_fatal(monkeypatch):
    real = md.entry_points(group="mmbench")
    fake = [*real, _fake_entry_point("ghost", "mmbench_no_such_module_xyz")]
    monkeypatch.setattr(md, "entry_points", lambda **kw: fake)
    catalog = load_catalog()
    assert "logreg" in catalog["classifier"]
    (broken,) = [b for b in catalog.broken if b.name == "ghost"]
    assert "error importing mmbench_no_such_module_xyz" in broken.error
    assert "ModuleNotFoundError" in broken.error


def test_disabled_plugins_are_skipped(monkeypatch):
    monkeypatch.setenv("MMBENCH_DISABLE_PLUGINS", "sklearn,fusion,clip")
    catalog = load_catalog()
    assert len(catalog["classifier"]) == 0 and "tfidf" in catalog["featurizer"]
    assert "clip-image" not in catalog["featurizer"] and "efficientnet-lite0" in catalog["featurizer"]


class _Clf:
    """A classifier used only to exercise the registry."""

    def __init__(self, *, k: int = 1) -> None:
        self.k = k

    def get_params(self, deep=True):
        return {"k": self.k}

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        raise NotImplementedError


def test_duplicate_names_are_refused_naming_both_plugins():
    catalog = load_catalog()
    plugin = types.SimpleNamespace(
        mmbench_register_classifiers=mmbench.hookimpl(lambda register: register(_Clf, "logreg"))
    )
    assert not catalog.register_plugin(plugin, "copycat", "copycat-dist")
    (broken,) = catalog.broken
    assert "DuplicateNameError" in broken.error
    assert "'sklearn' (mmbench)" in broken.error and "'copycat' (copycat-dist)" in broken.error
    assert catalog["classifier"].get("logreg").plugin == "sklearn"


def test_registry_refuses_duplicates_directly():
    reg = new_catalog()["classifier"]
    reg.add(_Clf, "a", plugin="p1")
    with pytest.raises(DuplicateNameError, match="p1.*p2"):
        reg.add(_Clf, "a", plugin="p2")


def test_unknown_name_gets_did_you_mean_and_the_list():
    catalog = load_catalog()
    with pytest.raises(UnknownNameError) as err:
        catalog["fusion"].get("concatt")
    msg = str(err.value)
    assert "did you mean 'concat'" in msg and "available:" in msg and "late-mean" in msg


def test_misspelled_hook_is_reported_with_suggestion():
    catalog = load_catalog()
    plugin = types.SimpleNamespace(
        mmbench_register_fusion=mmbench.hookimpl(lambda register: None)
    )
    assert not catalog.register_plugin(plugin, "typo")
    assert "did you mean mmbench_register_fusions" in catalog.broken[-1].error


def test_plugin_raising_while_registering_is_isolated():
    def boom(register):
        register(_Clf, "fine-one")
        raise RuntimeError("kaput")

    catalog = load_catalog()
    plugin = types.SimpleNamespace(mmbench_register_classifiers=mmbench.hookimpl(boom))
    assert not catalog.register_plugin(plugin, "boom")
    assert "kaput" in catalog.broken[-1].error
    assert "fine-one" not in catalog["classifier"]  # nothing half-registered


def test_contract_is_checked_at_registration():
    catalog = load_catalog()

    class NoLevel:
        def fit(self, views, y, make):
            return self

    plugin = types.SimpleNamespace(
        mmbench_register_fusions=mmbench.hookimpl(lambda register: register(NoLevel, "x"))
    )
    assert not catalog.register_plugin(plugin, "bad-contract")
    assert "lacks level" in catalog.broken[-1].error


def test_registered_context_manager_adds_and_removes():
    plugin = types.SimpleNamespace(
        mmbench_register_classifiers=mmbench.hookimpl(lambda register: register(_Clf, "tmp-clf"))
    )
    catalog = load_catalog()
    with registered(plugin, "tmp", catalog=catalog):
        assert "tmp-clf" in catalog["classifier"]
    assert "tmp-clf" not in catalog["classifier"]


def test_unknown_name_in_a_suite_mentions_plugins_that_failed_to_load(monkeypatch, write_suite):
    from mmbench.errors import SuiteError
    from mmbench.plan import plan_suite
    from mmbench.suite import load_suite

    real = md.entry_points(group="mmbench")
    fake = [*real, _fake_entry_point("fancy-fusions", "mmbench_fancy_missing")]
    monkeypatch.setattr(md, "entry_points", lambda **kw: fake)
    catalog = load_catalog()
    suite = write_suite("""
        name = "x"
        [[datasets]]
        name = "synthetic"
        [[featurizers]]
        name = "pixels"
        [[featurizers]]
        name = "tfidf"
        [[fusions]]
        name = "fancy"
        [[classifiers]]
        name = "logreg"
    """)
    with pytest.raises(SuiteError) as err:
        plan_suite(load_suite(suite), catalog)
    (msg,) = err.value.problems
    assert "unknown fusion 'fancy'" in msg and "fancy-fusions" in msg
    assert "mmbench_fancy_missing" in msg
