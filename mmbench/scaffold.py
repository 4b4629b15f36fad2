"""``mmbench new-plugin``: write a ready-to-install plugin package from the templates in
``mmbench/templates/plugin`` (``string.Template`` files, ``$name`` placeholders)."""

from __future__ import annotations

import importlib.util
import keyword
import re
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from . import __version__
from .errors import UserError

KINDS = ("dataset", "featurizer", "fusion", "classifier")
#: PEP 508 distribution names
DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")

#: per kind: the hook, a one-line summary, extra dependencies, a refused ``__init__`` call
#: for the generated test (arguments, and a regex its message matches), a README note
KIND_FACTS = {
    "dataset": ("mmbench_register_datasets", "a generated two-modality dataset", "",
                "n=2", "n must be", "A dataset's `load()` returns `MultimodalData`."),
    "featurizer": ("mmbench_register_featurizers", "colour statistics of images", "",
                   "bins=0", "bins must be",
                   "Bump `version` whenever the features change: it is part of the cache key."),
    "fusion": ("mmbench_register_fusions", "late fusion of sharpened probabilities", "",
               "sharpness=-1.0", "sharpness must be",
               "Every strategy says in its docstring how it treats a missing modality."),
    "classifier": ("mmbench_register_classifiers", "a nearest-centroid classifier",
                   ', "scikit-learn>=1.4"', "temperature=0", "temperature must be",
                   "Classifiers follow scikit-learn's estimator rules."),
}


@dataclass(frozen=True)
class Names:
    """Every name a new plugin package needs, derived from its distribution name."""

    name: str         # distribution: mmbench-median-fusion
    module: str       # import package: mmbench_median_fusion
    plugin_name: str  # entry point and registered name: median-fusion
    class_name: str   # MedianFusion


def plugin_names(name: str) -> Names:
    """Check ``name`` and derive the package, plugin and class names (UserError if invalid)."""
    if not DIST_NAME.match(name):
        raise UserError(
            f"invalid plugin name {name!r}: a distribution name is letters, digits, '-', '_' "
            f"and '.', starting and ending with a letter or digit (e.g. mmbench-median-fusion)"
        )
    module = re.sub(r"[-_.]+", "_", name).lower()
    if not module.isidentifier() or keyword.iskeyword(module):
        raise UserError(
            f"invalid plugin name {name!r}: its package would be {module!r}, which is not a "
            f"Python identifier; start it with a letter (e.g. mmbench-{name})"
        )
    short = re.sub(r"^mmbench[-_.]?", "", name.lower())
    plugin_name = re.sub(r"[-_.]+", "-", short).strip("-")
    if not plugin_name:
        raise UserError(f"invalid plugin name {name!r}: name the plugin after what it does, "
                        f"e.g. mmbench-median-fusion")
    class_name = "".join(part.capitalize() for part in plugin_name.split("-"))
    if not class_name.isidentifier():
        class_name = "Plugin" + class_name
    return Names(name, module, plugin_name, class_name)


def render(kind: str, names: Names) -> dict[str, str]:
    """The package's files (relative path -> text) for a plugin of ``kind``."""
    if kind not in KINDS:
        raise UserError(f"unknown plugin kind {kind!r}; choose one of {', '.join(KINDS)}")
    hook, summary, deps, bad_params, bad_match, notes = KIND_FACTS[kind]
    major_minor = ".".join(__version__.split(".")[:2])
    values = {
        **asdict(names), "kind": kind, "hook": hook, "summary": summary,
        "dependencies": f'"mmbench>={major_minor}", "numpy"{deps}',
        "bad_params": bad_params, "bad_match": bad_match, "notes": notes,
    }
    root = files("mmbench") / "templates" / "plugin"
    layout = {
        "pyproject.toml": root / "pyproject.toml.tmpl",
        "README.md": root / "README.md.tmpl",
        "conftest.py": root / "conftest.py.tmpl",
        "suite.toml": root / kind / "suite.toml.tmpl",
        f"{names.module}/__init__.py": root / kind / "module.py.tmpl",
        f"tests/test_{names.module}.py": root / "test.py.tmpl",
    }
    return {path: Template(src.read_text()).substitute(values) for path, src in layout.items()}


def new_plugin(name: str, kind: str, parent: Path, check_taken: bool = True) -> Path:
    """Write a plugin package named ``name`` into ``parent/name``; refuse an existing folder,
    an invalid name, a package name that is already importable and (``check_taken``) a
    plugin name that an installed plugin of the same kind already registered."""
    names = plugin_names(name)
    rendered = render(kind, names)
    folder = parent / name
    if folder.exists():
        raise UserError(f"{folder} already exists; new-plugin never overwrites: pick another "
                        f"name or --dir")
    if importlib.util.find_spec(names.module) is not None:
        raise UserError(f"a module named {names.module!r} is already importable, so the new "
                        f"package would clash with it; pick another name")
    if check_taken:
        from .plugins import get_catalog

        registry = get_catalog()[kind]
        if names.plugin_name in registry:
            holder = registry.get(names.plugin_name)
            raise UserError(
                f"{kind} name {names.plugin_name!r} is already registered by plugin "
                f"{holder.plugin!r} ({holder.distribution or 'unknown distribution'}); pick "
                f"another name"
            )
    for rel, text in rendered.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
