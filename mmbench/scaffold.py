"""``mmbench new-plugin``: write a ready-to-install plugin package from the templates in
``mmbench/templates/plugin`` (``string.Template`` files, ``$name`` placeholders)."""

from __future__ import annotations

import importlib.util
import keyword
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from . import __version__
from .errors import UserError

KINDS = ("dataset", "featurizer", "fusion", "classifier")
#: PEP 508 distribution names
DIST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")

#: per kind: the hook, a one-line summary, extra dependencies, a refused ``__init__`` call
#: for the generated test (arguments, and a regex its message matches), a README note, and the
#: parameters of its entry in the generated suite
KIND_FACTS = {
    "dataset": ("mmbench_register_datasets", "images and captions from a CSV file", "",
                "path='no-such-file.csv'", "path must name a CSV file",
                "A dataset's `load()` returns `MultimodalData`.",
                '{ path = "tests/data/tiny.csv" }'),
    "featurizer": ("mmbench_register_featurizers", "colour statistics of images", "",
                   "bins=0", "bins must be",
                   "Bump `version` whenever the features change: it is part of the cache key.",
                   "{ bins = [2, 4] }"),
    "fusion": ("mmbench_register_fusions", "late fusion of sharpened probabilities", "",
               "sharpness=-1.0", "sharpness must be",
               "Every strategy says in its docstring how it treats a missing modality.",
               "{ sharpness = [1.0, 2.0] }"),
    "classifier": ("mmbench_register_classifiers", "a nearest-centroid classifier",
                   ', "scikit-learn>=1.4"', "temperature=0", "temperature must be",
                   "Classifiers follow scikit-learn's estimator rules.",
                   "{ temperature = [0.5, 1.0] }"),
}
#: what the generated suite uses for a kind the package does not provide
STAND_INS = {"dataset": ("synthetic", "{ n = 150, n_classes = 3 }"),
             "featurizer": ("hog-color", "{ pixels_per_cell = 4 }"),
             "fusion": ("concat", ""), "classifier": ("logreg", "")}
#: the generated dataset's example file, which its tests and suite read
FIXTURE = "tests/data/tiny.csv"


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


def parse_kinds(kinds: str | Sequence[str]) -> list[str]:
    """``"fusion,featurizer"`` -> ``["fusion", "featurizer"]``; UserError for an unknown or
    repeated kind."""
    items = [k.strip() for k in kinds.split(",")] if isinstance(kinds, str) else list(kinds)
    unknown = [k for k in items if k not in KINDS]
    if unknown or not items:
        raise UserError(f"unknown plugin kind {', '.join(map(repr, unknown)) or repr('')}; "
                        f"choose one or more of {', '.join(KINDS)} (comma-separated)")
    if len(set(items)) != len(items):
        raise UserError(f"--kind {','.join(items)} names a kind twice; name each once")
    return items


@dataclass(frozen=True)
class Part:
    """One kind's class in the package."""

    kind: str
    class_name: str
    plugin_name: str
    file: str  # the module it is in, relative to the package


def parts(kinds: Sequence[str], names: Names) -> list[Part]:
    """One kind: its class in the package's ``__init__.py``, registered under the plugin name.
    Several: one module per kind, classes and names suffixed by the kind (``MedianFusion``,
    ``median-fusion``)."""
    if len(kinds) == 1:
        return [Part(kinds[0], names.class_name, names.plugin_name, "__init__.py")]
    return [Part(k, names.class_name + k.capitalize(), f"{names.plugin_name}-{k}", f"{k}.py")
            for k in kinds]


def render(kind: str | Sequence[str], names: Names) -> dict[str, str]:
    """The package's files (relative path -> text) for a plugin of one or more kinds."""
    kinds = parse_kinds(kind)
    pieces = parts(kinds, names)
    major_minor = ".".join(__version__.split(".")[:2])
    deps = "".join(dict.fromkeys(KIND_FACTS[k][2] for k in kinds))
    root = files("mmbench") / "templates" / "plugin"
    out: dict[str, str] = {}
    for part in pieces:
        values = _values(part, names, major_minor, deps)
        out[f"{names.module}/{part.file}"] = Template(
            (root / part.kind / "module.py.tmpl").read_text()).substitute(values)
    if len(pieces) > 1:
        out[f"{names.module}/__init__.py"] = _package_init(pieces, names)
    shared = {
        **asdict(names), "kind": " and ".join(kinds),
        "plugin_name": "`, `".join(p.plugin_name for p in pieces),
        "class_name": "`, `".join(p.class_name for p in pieces),
        "hook": "`, `".join(KIND_FACTS[p.kind][0] for p in pieces),
        "summary": "; ".join(KIND_FACTS[k][1] for k in kinds),
        "dependencies": f'"mmbench>={major_minor}", "numpy"{deps}',
        "notes": " ".join(KIND_FACTS[k][5] for k in kinds),
        "entry_point": names.plugin_name,
    }
    for path, tmpl in (("pyproject.toml", "pyproject.toml.tmpl"), ("README.md", "README.md.tmpl"),
                       ("conftest.py", "conftest.py.tmpl")):
        out[path] = Template((root / tmpl).read_text()).substitute(shared)
    out["suite.toml"] = _suite(pieces, names)
    out[f"tests/test_{names.module}.py"] = _tests(pieces, names, root)
    if "dataset" in kinds:
        out[FIXTURE] = (root / "dataset" / "tiny.csv.tmpl").read_text()
    return out


def _values(part: Part, names: Names, major_minor: str, deps: str) -> dict[str, str]:
    hook, summary, _, bad_params, bad_match, notes, _ = KIND_FACTS[part.kind]
    return {**asdict(names), "class_name": part.class_name, "plugin_name": part.plugin_name,
            "kind": part.kind, "hook": hook, "summary": summary, "notes": notes,
            "dependencies": f'"mmbench>={major_minor}", "numpy"{deps}'}


def _package_init(pieces: Sequence[Part], names: Names) -> str:
    lines = [f'"""{names.name}: {", ".join(p.plugin_name for p in pieces)}. mmbench calls the '
             f'hooks\nimported here (the entry point names this package)."""', ""]
    for p in pieces:
        lines.append(f"from .{p.kind} import {p.class_name}, {KIND_FACTS[p.kind][0]}")
    names_list = ", ".join(f'"{x}"' for p in pieces for x in (p.class_name, KIND_FACTS[p.kind][0]))
    return "\n".join([*lines, "", f"__all__ = [{names_list}]", ""])


def _suite(pieces: Sequence[Part], names: Names) -> str:
    """The smallest suite that names every kind of the package (stand-ins for the others)."""
    own = {p.kind: p for p in pieces}
    out = [f"# The smallest suite that names {', '.join(p.plugin_name for p in pieces)}: run it "
           f"with `mmbench run suite.toml`", f'name = "{names.plugin_name}-demo"', "seeds = [0]"]

    def entry(table: str, kind: str) -> None:
        name, params = ((own[kind].plugin_name, KIND_FACTS[kind][6]) if kind in own
                        else STAND_INS[kind])
        out.extend(["", f"[[{table}]]", f'name = "{name}"'])
        if params:
            out.append(f"params = {params}")

    entry("datasets", "dataset")
    entry("featurizers", "featurizer")
    out.extend(["", "[[featurizers]]", 'name = "tfidf"',
                "params = { max_features = 64, min_df = 1 }"])
    entry("fusions", "fusion")
    entry("classifiers", "classifier")
    return "\n".join(out) + "\n"


def _tests(pieces: Sequence[Part], names: Names, root: Any) -> str:
    def instance(p: Part) -> str:
        return f"{p.class_name}(path=str(DATA))" if p.kind == "dataset" else f"{p.class_name}()"

    dataset = any(p.kind == "dataset" for p in pieces)
    values = {
        **asdict(names),
        "classes": ", ".join(p.class_name for p in pieces),
        "instances": ", ".join(instance(p) for p in pieces),
        "bad_cases": "".join(f"\n    pytest.param(lambda: {p.class_name}({KIND_FACTS[p.kind][3]}), "
                             f'"{KIND_FACTS[p.kind][4]}", id="{p.kind}"),' for p in pieces),
        "registered": ", ".join(f'("{p.kind}", "{p.plugin_name}")' for p in pieces),
        "data": (f'DATA = ROOT / "{FIXTURE}"  # the example file the dataset reads\n'
                 if dataset else ""),
        "suite": ("SUITE.read_text().replace(" + f'"{FIXTURE}", DATA.as_posix())'
                  if dataset else "SUITE"),
    }
    return Template((root / "test.py.tmpl").read_text()).substitute(values)


def new_plugin(name: str, kind: str | Sequence[str], parent: Path,
               check_taken: bool = True) -> Path:
    """Write a plugin package named ``name`` (of one kind or several, ``"fusion,featurizer"``)
    into ``parent/name``; refuse an existing folder,
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

        for part in parts(parse_kinds(kind), names):
            registry = get_catalog()[part.kind]
            if part.plugin_name in registry:
                holder = registry.get(part.plugin_name)
                raise UserError(
                    f"{part.kind} name {part.plugin_name!r} is already registered by plugin "
                    f"{holder.plugin!r} ({holder.distribution or 'unknown distribution'}); "
                    f"pick another name"
                )
    for rel, text in rendered.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder
