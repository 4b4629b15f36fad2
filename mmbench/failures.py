"""What a failed cell's line says besides the error: which plugin raised it, from which
distribution (whom to report it to), and where its traceback is kept."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from .plan import Cell, Variant


def _source(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None


def culprits(cell: Cell, catalog: Any, traceback: str | None) -> list[tuple[str, Any]]:
    """(role, registry entry) of the cell's plugin whose source file is the last named in
    ``traceback`` (where the error was raised); without one: the fusion and the classifier."""
    roles: list[tuple[str, Variant]] = [("fusion", cell.fusion), ("classifier", cell.classifier),
                                        *((f"{m} featurizer", f) for m, f in cell.featurizers)]
    found: list[tuple[int, str, Any]] = []
    for role, variant in roles:
        entry = catalog[variant.kind].get(variant.name)
        path = _source(entry.cls)
        at = traceback.rfind(f'File "{path}"') if traceback and path else -1
        if at >= 0:
            found.append((at, role, entry))
    if found:
        _, role, entry = max(found, key=lambda t: t[0])
        return [(role, entry)]
    return [(role, catalog[v.kind].get(v.name)) for role, v in roles[:2]]


def where(cell: Cell, catalog: Any, traceback: str | None, record: Path) -> str:
    """``(raised in classifier boom, plugin misbehave from mmbench-misbehave 0.1.0; traceback
    in results/x/cells/<id>.json)``."""
    named = [f"{role} {entry.name}, plugin {entry.plugin} from "
             f"{(entry.distribution + ' ' + entry.version).strip() or 'an unknown distribution'}"
             for role, entry in culprits(cell, catalog, traceback)]
    raised = "raised in " if len(named) == 1 else "in "
    return (f"({raised}{' / '.join(named)}; traceback in {record})" if traceback
            else f"({raised}{' / '.join(named)}; record {record})")
