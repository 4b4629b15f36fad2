"""A reference of registered plugins, built from the code itself: each class's docstring
(rendered), its kind's facts (level, modality...) and every ``__init__`` parameter with its
type, default, allowed values and description.

Descriptions come from ``:param name: text`` fields in the class (or ``__init__``) docstring;
allowed values from a ``Literal[...]`` annotation and, where the class has them, scikit-learn's
``_parameter_constraints``. ``mmbench plugins NAME`` prints one entry, ``--json`` the same data,
``--markdown`` the whole reference (``docs/reference.md`` is written by it).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any

from .paramcheck import annotations_of, describe_type, literal_values
from .registry import CONTEXT_PARAMS, Entry

#: What a context parameter means when a plugin's docstring does not say.
CONTEXT_DOCS = {
    "random_state": "seed; filled in by the runner with the cell's seed unless the suite sets it",
    "device": "torch device; filled in by the runner from the suite's `device` unless the "
              "suite sets it",
    "class_names": "the dataset's class names; filled in by the runner",
    "n_jobs": "threads or processes to use; filled in by the runner with the cores a cell may "
              "use when an executor runs cells side by side",
    "inner_cv": "the inner split of the training split (a scikit-learn splitter); filled in by "
                "the runner from the suite's inner split",
}

_PARAM = re.compile(r"^:param\s+(?:[\w\[\], |.]+\s+)?(\w+)\s*:\s*(.*)$")
_FIELD = re.compile(r"^:(\w+)(\s[^:]*)?:")
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc):`~?([^`]+)`")


def split_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(the description, ``{param: text}``) of a docstring with ``:param x:`` fields; a field
    runs on over its indented continuation lines. Other fields (``:returns:``...) are dropped."""
    body: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    for line in inspect.cleandoc(doc or "").splitlines():
        stripped = line.strip()
        match = _PARAM.match(stripped)
        if match:
            current = match.group(1)
            params[current] = match.group(2).strip()
        elif _FIELD.match(stripped):
            current = "\0"  # a field we do not show: skip it and its continuation
        elif current is not None and stripped and line[:1].isspace():
            if current != "\0":
                params[current] = f"{params[current]} {stripped}".strip()
        else:
            current = None
            body.append(line)
    return "\n".join(body).strip(), params


def paragraphs(text: str) -> list[str]:
    """Paragraphs of a docstring with their wrapped lines joined; list items ("- ", "* ") and
    indented blocks keep their own lines."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if block:
            out.append(" ".join(block))
            block.clear()

    for line in text.splitlines():
        stripped = line.strip()
        in_item = bool(block) and block[0][:2] in ("- ", "* ")
        if not stripped:
            flush()
        elif stripped[:2] in ("- ", "* "):
            flush()
            block.append(stripped)
        elif line[:1].isspace() and not in_item:  # an indented block line keeps its own line
            flush()
            out.append(stripped)
        else:
            block.append(stripped)
    flush()
    return out


def to_markdown(text: str) -> str:
    """reStructuredText inline markup as Markdown: ``code`` and :class:`x` -> `x`."""
    return re.sub(r"``([^`]+)``", r"`\1`", _ROLE.sub(r"`\1`", text))


def to_plain(text: str) -> str:
    """The same text with no markup at all (for terminals and JSON)."""
    return to_markdown(text).replace("`", "")


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph (a period followed by a capital ends it; "et al."
    does not), else the whole paragraph."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text, maxsplit=1)
    return parts[0]


def own_doc(cls: type) -> str:
    """The class's own docstring: a plugin without one is not described by its base class's
    (``FusionBase``'s, say)."""
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def summary_of(cls: type) -> str:
    """The first sentence of ``cls``'s docstring, plain text (never cut mid-sentence)."""
    paras = paragraphs(split_docstring(own_doc(cls))[0])
    return to_plain(first_sentence(paras[0])) if paras else ""


def constraint_text(cls: type, name: str) -> list[str]:
    """scikit-learn's ``_parameter_constraints[name]`` of ``cls`` as phrases ("a float in the
    range (0.0, inf]"), hidden ones left out; [] when the class declares none."""
    table = getattr(cls, "_parameter_constraints", None)
    if not isinstance(table, dict) or name not in table:
        return []
    try:
        from sklearn.utils._param_validation import make_constraint
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return []
    out = []
    for c in table[name]:
        try:
            made = make_constraint(c)
        except Exception:  # an unknown constraint kind: show it as written
            out.append(str(c))
            continue
        if getattr(made, "hidden", False):
            continue
        options = getattr(made, "options", None)
        if isinstance(options, set | frozenset):  # sorted: a set's order changes between runs
            out.append("one of " + ", ".join(sorted(map(repr, options))))
        else:
            out.append(str(made))
    return out


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return repr(value)


def describe_params(cls: type, params: dict[str, inspect.Parameter]) -> list[dict[str, Any]]:
    """One dict per ``__init__`` parameter: name, type, default (absent: required), allowed
    values, description and whether the runner fills it in."""
    hints = annotations_of(cls)
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's text wins over its bases'
        for source in (klass.__dict__.get("__doc__"),
                       getattr(klass.__dict__.get("__init__"), "__doc__", None)):
            docs.update(split_docstring(source or "")[1])
    out = []
    for name, p in params.items():
        hint = hints.get(name, p.annotation)
        allowed = constraint_text(cls, name) or [repr(v) for v in literal_values(hint)]
        doc = docs.get(name) or CONTEXT_DOCS.get(name, "")
        item: dict[str, Any] = {
            "name": name,
            "type": describe_type(hint),
            "required": p.default is inspect.Parameter.empty,
            "allowed": allowed,
            "doc": to_plain(doc),
            "doc_markdown": to_markdown(doc),
            "context": name in CONTEXT_PARAMS,
        }
        if p.default is not inspect.Parameter.empty:
            item["default"] = _jsonable(p.default)
        out.append(item)
    return out


def kind_facts(entry: Entry) -> dict[str, Any]:
    """What a kind's contract declares, as the class states it."""
    cls = entry.cls
    wanted = {"dataset": ["modalities"], "featurizer": ["modality", "version", "fits_on_train",
                                                        "output_dim"],
              "fusion": ["level", "min_modalities"]}.get(entry.kind, [])
    facts = {}
    for attr in wanted:
        value = inspect.getattr_static(cls, attr, None)
        if isinstance(value, bool | int | float | str | tuple | list):
            facts["feature_version" if attr == "version" else attr] = _jsonable(value)
    for attr in ("notes", "accepts", "check_dims"):
        if callable(getattr(cls, attr, None)):
            facts.setdefault("extras", []).append(attr)
    return facts


def describe_entry(entry: Entry) -> dict[str, Any]:
    """Everything the reference shows about one registered class."""
    doc, _ = split_docstring(own_doc(entry.cls))
    paras = paragraphs(doc)
    return {
        "kind": entry.kind,
        "name": entry.name,
        "aliases": list(entry.aliases),
        "plugin": entry.plugin,
        "distribution": entry.distribution,
        "version": entry.version,
        "class": f"{entry.cls.__module__}.{entry.cls.__qualname__}",
        **kind_facts(entry),
        "summary": summary_of(entry.cls),
        "doc": [to_plain(p) for p in paras],
        "doc_markdown": [to_markdown(p) for p in paras],
        "params": describe_params(entry.cls, entry.params),
    }


def find_entries(catalog: Any, name: str, kind: str | None = None) -> list[Entry]:
    """The entries registered as ``name`` (or an alias), of ``kind`` or of every kind."""
    kinds = [kind] if kind else list(catalog.registries)
    return [catalog[k].get(name) for k in kinds if name in catalog[k]]


# ------------------------------------------------------------------------------- markdown

_FACT_LABELS = {"modalities": "modalities", "modality": "modality",
                "feature_version": "feature version",
                "fits_on_train": "fitted on the training split", "output_dim": "output width",
                "level": "level", "min_modalities": "needs modalities"}


def _md_value(value: Any) -> str:
    """A fact as text: ``true``, ``image, text``, ``structure``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_md_value(v) for v in value)
    return str(value)


def default_text(value: Any) -> str:
    """A default as a suite writes it (TOML): ``true``, ``"cpu"``, ``[1, 2]``; None: not set."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(default_text(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def entry_markdown(d: dict[str, Any]) -> str:
    """One entry as a Markdown section."""
    lines = [f"### `{d['name']}`", ""]
    facts = [f"{_FACT_LABELS[k]}: `{_md_value(d[k])}`" for k in _FACT_LABELS if k in d]
    if d["aliases"]:
        facts.append("aliases: " + ", ".join(f"`{a}`" for a in d["aliases"]))
    if d.get("extras"):
        facts.append("optional methods: " + ", ".join(f"`{x}`" for x in d["extras"]))
    facts.append(f"plugin `{d['plugin']}` ({d['distribution'] or 'no distribution'}), "
                 f"class `{d['class']}`")
    lines += ["; ".join(facts), "", *[p for para in d["doc_markdown"] for p in (para, "")]]
    if d["params"]:
        lines += ["| parameter | type | default | allowed | description |",
                  "| --- | --- | --- | --- | --- |"]
        for p in d["params"]:
            default = ("required" if p["required"] else "not set" if p["default"] is None
                       else f"`{default_text(p['default'])}`")
            allowed = "; ".join(p["allowed"])
            lines.append(f"| `{p['name']}` | {_cell(p['type'])} | {_cell(default)} | "
                         f"{_cell(allowed)} | {_cell(p['doc_markdown'])} |")
        lines.append("")
    else:
        lines += ["No parameters.", ""]
    return "\n".join(lines)


KIND_TITLES = {"dataset": "Datasets", "featurizer": "Featurizers", "fusion": "Fusion strategies",
               "classifier": "Classifiers", "executor": "Executors"}


def markdown_reference(catalog: Any, distributions: Iterable[str] | None = None) -> str:
    """The reference of every registered class (of ``distributions`` only, when given), by
    kind and name, as one Markdown page."""
    wanted = set(distributions) if distributions is not None else None
    out = ["# Plugin reference", "",
           "<!-- generated by `mmbench plugins --markdown --distribution mmbench > "
           "docs/reference.md`; do not edit by hand -->", "",
           "Every built-in plugin with its parameters, generated from the code (docstrings, "
           "`__init__` signatures and annotations). A suite sets parameters in an entry's "
           "`params` table; a list sweeps. Parameters marked *(runner)* are filled in by the "
           "runner when the suite does not set them. `mmbench plugins NAME` shows the same for "
           "any installed plugin, `--json` as data.", ""]
    for kind, registry in catalog.registries.items():
        entries = [e for e in registry if wanted is None or e.distribution in wanted]
        if not entries:
            continue
        out += [f"## {KIND_TITLES.get(kind, kind)}", ""]
        for entry in entries:
            d = describe_entry(entry)
            for p in d["params"]:
                if p["context"]:
                    p["doc_markdown"] = f"*(runner)* {p['doc_markdown']}"
            out.append(entry_markdown(d))
    return "\n".join(out).rstrip() + "\n"
