"""Time per cell of every fusion strategy, side by side in one run, on the same cached features,
split and classifier (logreg).

    MMBENCH_DATA_DIR=/work/shared/data MMBENCH_CACHE_DIR=/tmp/cache python benchmarks/fusion.py

uses ``suites/fusion-levels.toml`` (hog-color + tfidf of the 10,000 captioned CIFAR-10 images);
without MMBENCH_DATA_DIR it uses the synthetic dataset at a realistic size instead. Prints, per
cell, fit and predict seconds, the number of classifier fits the strategy makes, and the ratio of
its time to the two unimodal cells' time together (what late fusion must cost at least).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from mmbench.cache import FeatureCache
from mmbench.cell import evaluate_cell
from mmbench.featurize import FeatureProvider, instantiate
from mmbench.paths import cache_dir
from mmbench.plan import plan_suite
from mmbench.plugins import get_catalog
from mmbench.splits import make_split
from mmbench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "benchmarks" / "fusion-synthetic.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default=None, help="suite file (default: see above)")
    args = parser.parse_args()
    default = ROOT / "suites" / "fusion-levels.toml"
    path = Path(args.suite) if args.suite else (
        default if os.environ.get("MMBENCH_DATA_DIR") else SYNTHETIC)
    console = Console()
    catalog = get_catalog()
    plan = plan_suite(load_suite(path), catalog)
    cell0 = plan.cells[0]
    data = instantiate(catalog["dataset"].get(cell0.dataset.name), cell0.dataset, {}).load()
    train, test = make_split(data.y, dict(cell0.split), cell0.seed, cell0.fold)
    provider = FeatureProvider(FeatureCache(cache_dir() / "features"), catalog, {"device": "cpu"})
    t0 = time.perf_counter()
    feats = dict(f for cell in plan.cells for f in cell.featurizers)  # one per modality
    views = {m: provider.features(f, data, train, test) for m, f in feats.items()}
    console.print(f"{path.name}: {len(train)} train / {len(test)} test, dims "
                  f"{ {m: v[0].shape[1] for m, v in views.items()} }, features ready in "
                  f"{time.perf_counter() - t0:.1f} s ({provider.computed} computed)")
    rows = []
    for cell in plan.cells:
        tr = {m: views[m][0] for m in cell.modalities}
        te = {m: views[m][1] for m in cell.modalities}
        out = evaluate_cell(cell, tr, data.y[train], te, data.y[test], len(data.class_names),
                            catalog, "cpu")
        rows.append((cell, out.metrics["accuracy"], out.timings["fit_s"],
                     out.timings["predict_s"]))
        console.print(f"  {cell.fusion.label}: {sum(out.timings.values()):.2f} s", highlight=False)
    uni = sum(f + p for c, _, f, p in rows if c.level == "unimodal")
    table = Table(title=f"time per cell, logreg, {path.name}")
    for col in ("fusion", "level", "accuracy", "fit s", "predict s", "total / unimodal pair"):
        table.add_column(col, justify="left" if col in ("fusion", "level") else "right")
    for cell, acc, fit_s, pred_s in rows:
        table.add_row(cell.fusion.label, cell.level, f"{acc:.4f}", f"{fit_s:.2f}",
                      f"{pred_s:.2f}", f"{(fit_s + pred_s) / uni:.2f}")
    console.print(table)
    console.print(f"unimodal pair (image + text cells together): {uni:.2f} s; "
                  f"numpy threads: {os.environ.get('OMP_NUM_THREADS', 'default')}; "
                  f"accuracy spread {np.ptp([r[1] for r in rows]):.4f}")


if __name__ == "__main__":
    main()
