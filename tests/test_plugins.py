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
    _fake_mmbench_group(monkeypatch, [])
    catalog = load_catalog()
    assert all(len(r) == 0 for r in catalog.registries.values())


def _fake_entry_point(name: str, value: str) -> md.EntryPoint:
    return md.EntryPoint(name=name, value=value, group="mmbench")


def _fake_mmbench_group(monkeypatch: pytest.MonkeyPatch, eps: list[md.EntryPoint]) -> None:
    """Replace the ``mmbench`` entry points only (pydantic and others read other groups)."""
    real = md.entry_points

    def entry_points(**kw):  # type: ignore[no-untyped-def]
        return eps if kw.get("group") == "mmbench" else real(**kw)

    monkeypatch.setattr(md, "entry_points", entry_points)


def test_plugin_that_fails_to_import_is_reported_not_fatal(monkeypatch):
    real = md.entry_points(group="mmbench")
    fake = [*real, _fake_entry_point("ghost", "mmbench_no_such_module_xyz")]
    _fake_mmbench_group(monkeypatch, fake)
    catalog = load_catalog()
    assert "logreg" in catalog["classifier"]
    (broken,) = [b for b in catalog.broken if b.name == "ghost"]
    assert "error importing mmbench_no_such_module_xyz" in broken.error
    assert "ModuleNotFoundError" in broken.error


def test_disabled_plugins_are_skipped(monkeypatch):
    monkeypatch.setenv("MMBENCH_DISABLE_PLUGINS", "sklearn,fusion,clip")
    catalog = load_catalog()
    # sklearn's and clip's classifiers are gone; the torch plugin's mlp stays
    assert catalog["classifier"].names() == ["mlp"] and "tfidf" in catalog["featurizer"]
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
    assert "registered twice" in broken.error and "MMBENCH_DISABLE_PLUGINS=" in broken.error
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
    _fake_mmbench_group(monkeypatch, fake)
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


# --- What a plugin author sees: one installed distribution per mistake ----------------------

GOOD_CLF = '''
import mmbench

class FineClf:
    """A classifier that is fine."""
    def __init__(self, *, k=1):
        self.k = k
    def get_params(self, deep=True):
        return {"k": self.k}
    def fit(self, X, y):
        return self
    def predict_proba(self, X):
        raise NotImplementedError
'''

#: entry-point name -> (module code, what the message must say besides the distribution)
MISTAKES = {
    "typo": ("import mmbench\n@mmbench.hookimpl\ndef mmbench_register_fusion(register):\n"
             "    pass\n", ["unknown hook mmbench_register_fusion",
                            "did you mean mmbench_register_fusions?"]),
    "unmarked": ("def mmbench_register_fusions(register):\n    pass\n",
                 ["mmbench_register_fusions is not marked with @mmbench.hookimpl",
                  "put @mmbench.hookimpl on the line above its def"]),
    "wrong-arg": ("import mmbench\n@mmbench.hookimpl\ndef mmbench_register_classifiers(reg):\n"
                  "    pass\n", ["mmbench_register_classifiers(reg) declares argument(s) 'reg'",
                                 "def mmbench_register_classifiers(register):"]),
    "no-arg": ("import mmbench\n@mmbench.hookimpl\ndef mmbench_register_datasets():\n"
               "    pass\n", ["mmbench_register_datasets() takes no 'register' argument",
                             "def mmbench_register_datasets(register):"]),
    "copycat": (GOOD_CLF + "@mmbench.hookimpl\ndef mmbench_register_classifiers(register):\n"
                "    register(FineClf, name='logreg')\n",
                ["classifier name 'logreg' is registered twice", "'sklearn' (mmbench)",
                 "MMBENCH_DISABLE_PLUGINS=sklearn (or =copycat)"]),
    "no-level": ("import mmbench\nclass NoLevel:\n    def fit(self, views, y, make):\n"
                 "        return self\n    def predict_proba(self, views):\n        pass\n"
                 "@mmbench.hookimpl\ndef mmbench_register_fusions(register):\n"
                 "    register(NoLevel, name='no-level')\n",
                 ["in mmbench_register_fusions", "NoLevel lacks level, min_modalities",
                  "see mmbench.protocols for the fusion contract"]),
    "instance": (GOOD_CLF + "@mmbench.hookimpl\ndef mmbench_register_classifiers(register):\n"
                 "    register(FineClf(), name='an-instance')\n",
                 ["classifier plugins register classes, got",
                  "pass the class itself"]),
    "alias-str": (GOOD_CLF + "@mmbench.hookimpl\ndef mmbench_register_classifiers(register):\n"
                  "    register(FineClf, name='alias-str', aliases='as')\n",
                  ["must be a list of names, got the string 'as'", "aliases=['as']"]),
    "raiser": ("import mmbench\n@mmbench.hookimpl\ndef mmbench_register_classifiers(register):\n"
               "    raise RuntimeError('kaput')\n",
               ["mmbench_register_classifiers raised RuntimeError: kaput",
                "mmbench_err_raiser.py:4)", "MMBENCH_DISABLE_PLUGINS=raiser"]),
    "missing-dep": ("import mmbench_no_such_dependency_xyz\n",
                    ["error importing mmbench_err_missing_dep: ModuleNotFoundError",
                     "mmbench_no_such_dependency_xyz", "reinstall mmbench-err-missing-dep",
                     "MMBENCH_DISABLE_PLUGINS=missing-dep"]),
    "fine": (GOOD_CLF + "@mmbench.hookimpl\ndef mmbench_register_classifiers(register):\n"
             "    register(FineClf, name='fine-clf')\n", []),
}


def _module(ep: str) -> str:
    return "mmbench_err_" + ep.replace("-", "_")


@pytest.fixture
def mistaken_site(tmp_path, monkeypatch):
    """A folder on sys.path holding one installed distribution (dist-info with an entry point
    in the ``mmbench`` group) per mistake in MISTAKES."""
    site = tmp_path / "site"
    site.mkdir()
    for ep, (code, _) in MISTAKES.items():
        module = _module(ep)
        (site / f"{module}.py").write_text(code)
        info = site / f"{module}-0.3.dist-info"
        info.mkdir()
        dist = module.replace("_", "-")
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
        (info / "entry_points.txt").write_text(f"[mmbench]\n{ep} = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for ep in MISTAKES:
        sys.modules.pop(_module(ep), None)


def test_each_mistake_gets_one_line_naming_the_distribution_and_the_fix(mistaken_site):
    catalog = load_catalog()
    broken = {b.name: b for b in catalog.broken}
    assert set(broken) == set(MISTAKES) - {"fine"}
    for ep, (_, expected) in MISTAKES.items():
        if ep == "fine":
            continue
        message = broken[ep].message
        assert "\n" not in message, message
        assert f"plugin {ep!r} ({_module(ep).replace('_', '-')}): " in message, message
        for text in expected:
            assert text in message, (text, message)
    # the others keep working, the good one included; nothing half-registered
    assert "fine-clf" in catalog["classifier"] and "logreg" in catalog["classifier"]
    assert catalog["classifier"].get("logreg").plugin == "sklearn"
    assert "no-level" not in catalog["fusion"] and "alias-str" not in catalog["classifier"]
    assert catalog.plugin_versions()["fine"] == "mmbench-err-fine 0.3"


def test_disable_turns_a_broken_plugin_off(mistaken_site, monkeypatch):
    monkeypatch.setenv("MMBENCH_DISABLE_PLUGINS", "raiser,missing-dep")
    catalog = load_catalog()
    names = {b.name for b in catalog.broken}
    assert "raiser" not in names and "missing-dep" not in names and "typo" in names
    assert catalog.disabled == ["missing-dep", "raiser"]


def test_plugins_command_shows_broken_plugins_in_text_and_json(mistaken_site, monkeypatch,
                                                                capsys):
    import json

    from mmbench import plugins
    from mmbench.cli import main

    monkeypatch.setenv("MMBENCH_DISABLE_PLUGINS", "no-arg")
    monkeypatch.setenv("COLUMNS", "250")
    plugins.reset_catalog()
    try:
        assert main(["plugins"]) == 0
        text = capsys.readouterr().out
        assert main(["plugins", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
    finally:
        plugins.reset_catalog()
    assert ("broken plugin wrong-arg (mmbench-err-wrong-arg): mmbench_register_classifiers(reg)"
            in text)
    assert "disabled by MMBENCH_DISABLE_PLUGINS: no-arg" in text
    plugins_ = {p["name"]: p for p in report["plugins"]}
    assert plugins_["fine"]["distribution"] == "mmbench-err-fine"
    assert plugins_["fine"]["version"] == "0.3"
    assert [e["name"] for e in plugins_["fine"]["registered"]["classifier"]] == ["fine-clf"]
    assert plugins_["sklearn"]["distribution"] == "mmbench"
    assert "logreg" in [e["name"] for e in plugins_["sklearn"]["registered"]["classifier"]]
    assert "concat" in [e["name"] for e in plugins_["fusion"]["registered"]["fusion"]]
    broken = {b["name"]: b for b in report["broken"]}
    assert broken["typo"]["distribution"] == "mmbench-err-typo"
    assert "did you mean mmbench_register_fusions?" in broken["typo"]["error"]
    assert broken["typo"]["message"].startswith("plugin 'typo' (mmbench-err-typo): ")
    assert "no-arg" not in broken and report["disabled"] == ["no-arg"]


def test_a_second_plugin_under_a_taken_name_leaves_the_first_alone():
    catalog = load_catalog()
    plugin = types.SimpleNamespace(
        mmbench_register_classifiers=mmbench.hookimpl(lambda register: register(_Clf, "nope"))
    )
    assert not catalog.register_plugin(plugin, "sklearn", "other-dist")
    assert "a plugin named 'sklearn' is already registered" in catalog.broken[-1].message
    assert "logreg" in catalog["classifier"] and "nope" not in catalog["classifier"]
