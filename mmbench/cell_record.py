"""What a cell's record says about the cell, besides its outcome: its plugins (with their
distributions, versions and notes), split, sizes and provenance; and the cell's short name
used in progress lines and messages."""

from __future__ import annotations

from typing import Any

from .inputs import cell_inputs
from .plan import Cell, Variant
from .protocols import MultimodalData
from .results import now
from .tasks import CellTask


def variant_notes(entry: Any, variant: Variant) -> dict[str, list[str]]:
    """``{"notes": [...]}`` when the plugin class marks these params (e.g. ``random weights``
    from an optional classmethod ``notes(params) -> list[str]``), else ``{}``."""
    notes = getattr(entry.cls, "notes", None)
    found = list(notes(variant.kwargs)) if callable(notes) else []
    return {"notes": found} if found else {}


def describe(cell: Cell) -> str:
    feats = " + ".join(f.label for _, f in cell.featurizers)
    return f"{cell.fusion.label} [{feats}] {cell.classifier.label} seed={cell.seed}" + (
        f" fold={cell.fold}" if dict(cell.split).get("method") == "kfold" else ""
    )


def base_record(cell: Cell, task: CellTask, data: MultimodalData, catalog: Any, suite: str,
                suite_sha256: str, device: str, git_sha: str, host: str) -> dict[str, Any]:
    """The fields every record of ``cell`` has (``status`` and the outcome are added)."""
    def described(v: Variant) -> dict[str, Any]:
        entry = catalog[v.kind].get(v.name)
        return {**v.as_dict(), "label": v.label, "plugin": entry.plugin,
                "version": f"{entry.distribution} {entry.version}".strip(),
                **variant_notes(entry, v)}

    return {
        "cell_id": cell.cell_id,
        "suite": suite,
        "suite_sha256": suite_sha256,
        "dataset": described(cell.dataset),
        "dataset_fingerprint": data.fingerprint,
        "inputs": cell_inputs(cell, catalog, data.fingerprint),
        "class_names": list(data.class_names),
        "split": dict(cell.split),
        "seed": cell.seed,
        "fold": cell.fold,
        "featurizers": {m: described(f) for m, f in cell.featurizers},
        "fusion": described(cell.fusion),
        "level": cell.level,
        "classifier": described(cell.classifier),
        "n_train": int(len(task.y_train)),
        "n_test": int(len(task.y_test)),
        "n_classes": task.n_classes,
        "device": device,
        "git_sha": git_sha,
        "host": host,
        "time": now(),
    }
