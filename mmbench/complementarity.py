"""Are a dataset's modalities redundant or complementary? Computed from stored predictions.

For each dataset, pair of modalities with their featurizers (one unimodal row each) and
classifier, pooled over the seeds (and folds) both unimodal rows ran, on the test samples:

- ``a_only`` / ``b_only``: the share only the first / only the second modality's row gets right;
  ``both``, ``neither``; ``union`` (the "oracle union": either right) and ``best_single``;
- per fusion row with exactly those featurizers and that classifier (matched seed by seed):
  ``rescued`` = the share of the "neither" samples it gets right (what only fusion found),
  ``lost`` = the share of the "either" samples it gets wrong, ``fusion_only`` = the share of
  all test samples right only after fusion.

The verdict, one line per dataset and featurizer pair (for the classifier with the most fusion
rows on it), uses documented thresholds:

- **complementary** when the best fusion row gets at least :data:`COMPLEMENTARY_SHARE` of all
  test samples right that neither single modality gets (fusion finds what no modality has);
- **redundant** otherwise when the best single modality already gets at least
  :data:`REDUNDANT_RATIO` of what either gets (``best_single / union``);
- **partly complementary** otherwise (the modalities err on different samples, and fusion
  finds little beyond them);
- **undecided** when the pair is not redundant and has no fusion row with that classifier (a
  suite that fuses only some featurizer pairs): nothing tells what fusion would find.

Stored by ``mmbench run`` in ``results/<suite>/complementarity.json``; printed under the
leaderboard and shown in the report.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from .cache import atomic_write_bytes

#: Share of all test samples right only after fusion from which the modalities are complementary.
COMPLEMENTARY_SHARE = 0.10
#: ``best_single / union`` from which (without fusion-only gains) they are redundant.
REDUNDANT_RATIO = 0.95
FILE = "complementarity.json"


def _right(results: Any, cell_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(test_index, correct mask) of a cell from its verified predictions, or None."""
    pred = results.predictions(cell_id)
    if pred is None:
        return None
    return np.asarray(pred["test_index"]), np.asarray(pred["y_pred"]) == np.asarray(
        pred["y_true"])


def _runs(records: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[tuple[Any, ...], str]]:
    """(dataset, featurizers, fusion label, classifier) -> {(seed, fold): cell_id}."""
    out: dict[tuple[Any, ...], dict[tuple[Any, ...], str]] = defaultdict(dict)
    for r in records:
        feats = tuple(sorted((m, f["label"]) for m, f in r["featurizers"].items()))
        fusion = "unimodal" if r["level"] == "unimodal" else r["fusion"]["label"]
        key = (r["dataset"]["label"], feats, fusion, r["level"], r["classifier"]["label"])
        out[key][(r["seed"], r.get("fold", 0))] = r["cell_id"]
    return out


def compute(results: Any) -> list[dict[str, Any]]:
    """One entry per dataset, modality pair (with featurizers) and classifier; see the module
    docstring. ``results`` is a :class:`~mmbench.stored.StoredResults`."""
    runs = _runs(list(results.ok.values()))
    uni = {k: v for k, v in runs.items() if k[3] == "unimodal" and len(k[1]) == 1}
    out = []
    for ka, kb in combinations(sorted(uni), 2):
        (ds, fa, _, _, clf), (ds_b, fb, _, _, clf_b) = ka, kb
        if ds != ds_b or clf != clf_b or fa[0][0] == fb[0][0]:
            continue
        feats = tuple(sorted(fa + fb))
        seeds = sorted(set(uni[ka]) & set(uni[kb]))
        masks = {s: (_right(results, uni[ka][s]), _right(results, uni[kb][s])) for s in seeds}
        masks = {s: m for s, m in masks.items() if m[0] is not None and m[1] is not None
                 and np.array_equal(m[0][0], m[1][0])}
        if not masks:
            continue
        a = np.concatenate([m[0][1] for m in masks.values()])
        b = np.concatenate([m[1][1] for m in masks.values()])
        union = a | b
        entry: dict[str, Any] = {
            "dataset": ds, "classifier": clf,
            "modalities": [fa[0][0], fb[0][0]], "featurizers": dict(feats),
            "seeds": [list(s) for s in masks], "n": int(len(a)),
            "a_only": float(np.mean(a & ~b)), "b_only": float(np.mean(~a & b)),
            "both": float(np.mean(a & b)), "neither": float(np.mean(~union)),
            "union": float(np.mean(union)), "a": float(np.mean(a)), "b": float(np.mean(b)),
            "fusions": [],
        }
        entry["best_single"] = max(entry["a"], entry["b"])
        for key, cells in sorted(runs.items()):
            if key[0] != ds or key[1] != feats or key[3] == "unimodal" or key[4] != clf:
                continue
            got = [(_right(results, cells[s]), s) for s in masks if s in cells]
            got = [(g, s) for g, s in got if g is not None and np.array_equal(g[0],
                                                                              masks[s][0][0])]
            if len(got) != len(masks):  # not every seed of the unimodal pair: left out
                continue
            f = np.concatenate([g[1] for g, _ in got])
            entry["fusions"].append({
                "fusion": key[2], "level": key[3], "accuracy": float(np.mean(f)),
                "rescued": float(np.mean(f[~union])) if (~union).any() else 0.0,
                "lost": float(np.mean(~f[union])) if union.any() else 0.0,
                "fusion_only": float(np.mean(f & ~union)),
            })
        entry.update(verdict(entry))
        out.append(entry)
    return out


def verdict(entry: dict[str, Any]) -> dict[str, Any]:
    """``{"verdict": ..., "message": ...}`` for one entry of :func:`compute`."""
    ma, mb = entry["modalities"]
    ratio = entry["best_single"] / entry["union"] if entry["union"] else 1.0
    best = max(entry["fusions"], key=lambda f: f["fusion_only"], default=None)
    only = best["fusion_only"] if best else 0.0
    single = ma if entry["a"] >= entry["b"] else mb
    if best is None and ratio < REDUNDANT_RATIO:
        level = "undecided"
        why = (f"{single}-only gets {ratio:.0%} of what either gets; no fusion row of this pair "
               f"with {entry['classifier']} tells what fusion finds beyond them")
    elif only >= COMPLEMENTARY_SHARE:
        level = "complementary"
        why = (f"{only:.1%} of test samples are right only after fusion ({best['fusion']}: it "
               f"gets {best['rescued']:.0%} of those neither modality gets)")
    elif ratio >= REDUNDANT_RATIO:
        level = "redundant"
        why = f"{single}-only already gets {ratio:.0%} of what either modality gets"
    else:
        level = "partly complementary"
        why = (f"{single}-only gets {ratio:.0%} of what either gets, but fusion finds "
               f"{only:.1%} beyond them")
    feats = " + ".join(f"{m}:{entry['featurizers'][m]}" for m in (ma, mb))
    message = (f"{entry['dataset']} {feats} ({entry['classifier']}): {level}: {why}; "
               f"{ma} only {entry['a_only']:.0%}, {mb} only {entry['b_only']:.0%}, both "
               f"{entry['both']:.0%}, neither {entry['neither']:.0%}, union {entry['union']:.0%}")
    return {"verdict": level, "ratio": ratio, "message": message}


def headline(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset and featurizer pair, the entry of the classifier with the most fusion rows
    (ties: the classifier name first in order)."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for e in sorted(entries, key=lambda e: e["classifier"]):
        key = (e["dataset"], tuple(sorted(e["featurizers"].items())))
        if key not in best or len(e["fusions"]) > len(best[key]["fusions"]):
            best[key] = e
    return list(best.values())


def lines(entries: list[dict[str, Any]]) -> list[str]:
    """The verdict lines for the leaderboard footer and the report."""
    return [e["message"] for e in headline(entries)]


def store(results_dir: Path) -> list[dict[str, Any]]:
    """Compute from ``results_dir``'s stored predictions and write :data:`FILE` there."""
    from .stored import load_results

    entries = compute(load_results(results_dir))
    atomic_write_bytes(Path(results_dir) / FILE, json.dumps(
        {"thresholds": {"complementary_share": COMPLEMENTARY_SHARE,
                        "redundant_ratio": REDUNDANT_RATIO}, "entries": entries},
        indent=1).encode())
    return entries
