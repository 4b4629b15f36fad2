"""``mmbench plugins NAME [--json]`` and ``mmbench plugins --markdown``: the reference of
:mod:`mmbench.reference` printed for a terminal, as JSON or as Markdown."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import UserError
from .reference import (_FACT_LABELS, _md_value, default_text, describe_entry, find_entries,
                        markdown_reference)
from .registry import unknown_name_message


def styled(markdown: str) -> str:
    """Rich markup for a Markdown-ish paragraph: `code` shown in cyan, without backquotes."""
    parts = re.split(r"`([^`]*)`", markdown)
    return "".join(f"[cyan]{escape(p)}[/]" if i % 2 else escape(p) for i, p in enumerate(parts))


def print_entry(d: dict[str, Any], console: Console) -> None:
    """One plugin's reference, for a terminal."""
    aliases = f", aliases: {', '.join(d['aliases'])}" if d["aliases"] else ""
    console.print(f"[bold]{escape(d['name'])}[/] ({d['kind']}{escape(aliases)})")
    dist = f"{d['distribution']} {d['version']}".strip() or "no distribution"
    console.print(f"plugin {escape(d['plugin'])} · distribution {escape(dist)} · class "
                  f"{escape(d['class'])}", highlight=False)
    facts = [f"{_FACT_LABELS[k]}: {_md_value(d[k])}" for k in _FACT_LABELS if k in d]
    if d.get("extras"):
        facts.append(f"optional methods: {', '.join(d['extras'])}")
    if facts:
        console.print(escape(" · ".join(facts)), highlight=False)
    for para in d["doc_markdown"]:
        console.print()
        console.print(styled(para), highlight=False)
    console.print()
    if not d["params"]:
        console.print("no parameters", highlight=False)
        return
    table = Table(title="parameters", header_style="bold", title_justify="left")
    for col in ("name", "type", "default", "allowed", "description"):
        table.add_column(col, overflow="fold")
    for p in d["params"]:
        default = "required" if p["required"] else default_text(p["default"])
        doc = ("(runner) " if p["context"] else "") + p["doc_markdown"]
        table.add_row(escape(p["name"]), escape(p["type"]), escape(default),
                      escape("; ".join(p["allowed"])), styled(doc))
    console.print(table)


def print_reference(catalog: Any, args: argparse.Namespace, console: Console) -> int:
    """``plugins --markdown`` (every plugin, or those of ``--distribution``) or ``plugins NAME``
    (text or ``--json``); an unknown name is a user error with did-you-mean."""
    if getattr(args, "markdown", False):
        sys.stdout.write(markdown_reference(catalog, args.distribution))
        return 0
    entries = find_entries(catalog, args.name, getattr(args, "kind", None))
    if not entries:
        kinds = [args.kind] if getattr(args, "kind", None) else list(catalog.registries)
        names = sorted({n for k in kinds for e in catalog[k] for n in (e.name, *e.aliases)})
        what = args.kind or "plugin"
        broken = "; ".join(b.message for b in catalog.broken)
        hint = f" (plugins that failed to load: {broken})" if broken else ""
        raise UserError(unknown_name_message(what, args.name, names) + hint)
    described = [describe_entry(e) for e in entries]
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps(described, indent=2) + "\n")
        return 0
    for i, d in enumerate(described):
        if i:
            console.rule()
        print_entry(d, console)
    return 0
