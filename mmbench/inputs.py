"""What a cell's result was computed from, and whether a record still answers for it.

A cell's id (:attr:`mmbench.plan.Cell.cell_id`) names its configuration: dataset and its
parameters, split, seed, fold, featurizers, fusion, classifier and their parameters, suite
options. It is known when the suite is planned. What the result also depends on is recorded
beside it, as the record's ``inputs``:

- ``data``: the dataset's fingerprint (a content hash; known once the data is loaded);
- ``plugins``: the ``distribution version`` of the plugin behind each part of the cell;
- ``featurizer_versions``: each featurizer's own ``version`` (its cache key);
- ``mmbench``: :data:`EVALUATION_VERSION`, mmbench's own part (splits, metrics).

A run loads each dataset of the suite and compares every recorded cell's inputs with the
current ones; a cell whose inputs changed is run again, its old record moved to
``superseded/`` (:meth:`mmbench.results.ResultStore.set_aside`). Records written before
``inputs`` existed are compared on what they name: the fingerprint and the plugins' versions.
"""

from __future__ import annotations

from typing import Any

#: mmbench's own part of every result: bump it when a change in mmbench (the splits, the
#: metrics, the statistics stored in records) changes what a cell records.
EVALUATION_VERSION = "2"  # 2: proper scores (log loss, Brier, ECE) in every record


def cell_inputs(cell: Any, catalog: Any, fingerprint: str | None) -> dict[str, Any]:
    """The inputs of ``cell`` with the plugins installed now; ``fingerprint`` None when the
    data could not be loaded (then only the versions can be compared)."""
    parts = {"dataset": cell.dataset, **{f"featurizer {m}": f for m, f in cell.featurizers},
             "fusion": cell.fusion, "classifier": cell.classifier}
    plugins, versions = {}, {}
    for role, variant in parts.items():
        entry = catalog[variant.kind].get(variant.name)
        plugins[role] = f"{entry.distribution} {entry.version}".strip()
        if variant.kind == "featurizer":
            versions[role.split(" ", 1)[1]] = str(getattr(entry.cls, "version", "1"))
    return {"data": fingerprint, "plugins": plugins, "featurizer_versions": versions,
            "mmbench": EVALUATION_VERSION}


def recorded_inputs(record: dict[str, Any]) -> dict[str, Any]:
    """The inputs a record names (for an older record: its fingerprint and the versions in
    its described parts)."""
    if isinstance(record.get("inputs"), dict):
        return record["inputs"]
    parts = {"dataset": record.get("dataset"), "fusion": record.get("fusion"),
             "classifier": record.get("classifier"),
             **{f"featurizer {m}": f for m, f in (record.get("featurizers") or {}).items()}}
    return {"data": record.get("dataset_fingerprint"),
            "plugins": {k: v.get("version", "") for k, v in parts.items()
                        if isinstance(v, dict)}}


def changes(now: dict[str, Any], then: dict[str, Any]) -> list[str]:
    """What differs between the current inputs and a record's, one phrase each (empty: the
    record still holds). A part the record does not name is not compared."""
    out = []
    if now.get("data") is not None and "data" in then and then["data"] != now["data"]:
        out.append(f"the data (fingerprint {str(then['data'])[:12]} -> {now['data'][:12]})")
    for key, what in (("plugins", "{}"), ("featurizer_versions", "the {} featurizer's version")):
        old = then.get(key)
        if not isinstance(old, dict):
            continue
        for role, value in now[key].items():
            if role in old and old[role] != value:
                out.append(f"{what.format(role)} {old[role] or '?'} -> {value}")
    if "mmbench" in then and then["mmbench"] != now["mmbench"]:
        out.append(f"mmbench's evaluation version {then['mmbench']} -> {now['mmbench']}")
    return out
