"""What tuning costs: the shipped (tuned) ``suites/cifar10.toml`` against its untuned form,
side by side in one run, on the same cached features.

    MMBENCH_DATA_DIR=/work/shared/data MMBENCH_CACHE_DIR=/tmp/cache \\
        python benchmarks/tuning.py --per-class 100 --seeds 0

The untuned form is the suite as it was before tuning: no ``inner``, ``logreg`` at ``C = 0.1``,
``linear-svm`` at ``C = 0.001``, ``late-weighted`` swept (three rows) instead of selected, and
late-mean only uncalibrated. Both are cut to the first ``--per-class`` images of each class and
the given seeds (the full suite takes hours of CPU on a shared 2-core machine); ``--reduced``
also shrinks the tuned grid to ``C`` in {0.01, 1} with ``standardize`` fixed (say so when
quoting it); ``--standardize`` adds ``standardize = [true, false]`` to logreg's grid. Features are computed once, by a first untuned run that is not timed; then each
suite runs into one results folder (a cell the two suites share, one that tuning does not
touch such as the random forest's, runs once and counts for both; a second invocation resumes
from the recorded cells) and the script prints per suite the seconds inside its cells (fit +
predict + score + tune, from the records), the cells, the classifier fits the tuned cells ran
and shared, and the ratio tuned / untuned.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console

from mmbench.plugins import get_catalog
from mmbench.results import ResultStore
from mmbench.runner import run_suite

ROOT = Path(__file__).resolve().parents[1]
UNTUNED = {"logreg": {"C": 0.1}, "linear-svm": {"C": 0.001}}


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def to_toml(suite: dict[str, Any]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in suite.items() if not isinstance(v, list)
             or not v or not isinstance(v[0], dict)]
    for key, entries in suite.items():
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            for entry in entries:
                lines += ["", f"[[{key}]]"] + [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def variants(per_class: int, seeds: list[int], out: Path, reduced: bool,
             grid_standardize: bool = False) -> dict[str, str]:
    suite = tomllib.loads((ROOT / "suites" / "cifar10.toml").read_text())
    suite.update(seeds=seeds, results_dir=str(out / "results"))
    suite["datasets"][0]["params"]["per_class"] = per_class
    tuned = json.loads(json.dumps(suite))
    if reduced:
        for clf in tuned["classifiers"]:
            if clf["name"] == "logreg":
                clf["tune"] = {"C": [0.01, 1.0]}
    if grid_standardize:
        for clf in tuned["classifiers"]:
            if clf["name"] == "logreg":
                clf["tune"]["standardize"] = [True, False]
    untuned = json.loads(json.dumps(suite))
    untuned.pop("inner", None)
    for clf in untuned["classifiers"]:
        if clf.pop("tune", None) is not None:
            clf["params"] = UNTUNED[clf["name"]]
    fusions = []
    for fusion in untuned["fusions"]:
        fusion.pop("select", None)
        if fusion.get("params", {}).get("calibrate") == "temperature":
            continue
        fusion.get("params", {}).pop("calibrate", None)
        if "params" in fusion and not fusion["params"]:
            del fusion["params"]
        fusions.append(fusion)
    untuned["fusions"] = fusions
    untuned["name"] = tuned["name"] = "bench"  # one results folder: shared cells run once
    return {"untuned": to_toml(untuned), "tuned": to_toml(tuned)}


def measure(name: str, text: str, out: Path) -> dict[str, Any]:
    """Run ``text`` into the shared results folder (a cell both suites plan, untouched by
    tuning, runs once: the second suite reads its record) and sum its cells' timings."""
    from mmbench.plan import plan_suite
    from mmbench.suite import load_suite

    path = out / f"{name}.toml"
    path.write_text(text)
    ids = {c.cell_id for c in plan_suite(load_suite(path), get_catalog()).cells}
    start = time.perf_counter()
    summary = run_suite(path, Console(file=io.StringIO()), catalog=get_catalog())
    wall = time.perf_counter() - start
    records = [r for r in ResultStore(summary.results_dir).records()
               if r["status"] == "ok" and r["cell_id"] in ids]
    inside = sum(sum(v for k, v in r["timings"].items()
                     if k in ("fit_s", "predict_s", "score_s", "tune_s")) for r in records)
    fits = [r["tuning"]["fits"] for r in records if "tuning" in r]
    return {"wall": wall, "cells": len(records), "failed": len(summary.failed),
            "ran": summary.ran,
            "inside": inside, "tuned": len(fits),
            "fitted": sum(f["fitted"] for f in fits), "shared": sum(f["shared"] for f in fits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--reduced", action="store_true", help="C in {0.01, 1} only")
    parser.add_argument("--standardize", action="store_true",
                        help="also tune logreg's standardize (true, false): twice the grid")
    parser.add_argument("--out", type=Path, default=Path("/tmp/mmbench-tuning-bench"))
    parser.add_argument("--no-warm-up", action="store_true",
                        help="the features are cached already (an earlier run): skip the warm-up")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    texts = variants(args.per_class, args.seeds, args.out, args.reduced, args.standardize)
    print(f"cifar10.toml, first {args.per_class} images per class, seeds {args.seeds}"
          f"{', reduced grid' if args.reduced else ', shipped grid'}"
          f"{' + standardize' if args.standardize else ''}")
    if not args.no_warm_up:
        t = time.perf_counter()
        measure("warm", texts["untuned"], args.out)
        print(f"features computed (untimed warm-up run): {time.perf_counter() - t:.1f} s")
    got = {name: measure(name, text, args.out) for name, text in texts.items()}
    for name, m in got.items():
        extra = (f"; {m['tuned']} tuned cells ran {m['fitted']} classifier fits, "
                 f"{m['shared']} more answered from shared fits" if m["tuned"] else "")
        print(f"{name:8s} {m['cells']:3d} cells ({m['ran']} run now, {m['failed']} failed): "
              f"inside cells {m['inside']:7.1f} s{extra}")
    u, tu = got["untuned"], got["tuned"]
    print(f"tuned / untuned, seconds inside cells: {tu['inside'] / u['inside']:.2f}x "
          f"(target <= 2x; features cached, so featurization is in neither)")


if __name__ == "__main__":
    main()
