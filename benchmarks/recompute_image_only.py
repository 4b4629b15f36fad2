"""Recompute a suite's image-only logreg accuracies from the cached features with plain
scikit-learn, and compare them with the recorded results.

    MMBENCH_DATA_DIR=/work/shared/data python benchmarks/recompute_image_only.py suites/cifar10.toml

It reads features only from the feature cache (it fails if any would have to be computed), splits
with the same seeds, fits ``StandardScaler`` + ``LogisticRegression`` itself (not through any
mmbench plugin) and prints recorded vs recomputed accuracy per cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def main(suite_path: str) -> int:
    from mmbench.cache import FeatureCache
    from mmbench.featurize import FeatureProvider
    from mmbench.paths import cache_dir
    from mmbench.plan import plan_suite
    from mmbench.plugins import get_catalog
    from mmbench.results import ResultStore
    from mmbench.splits import make_split
    from mmbench.suite import load_suite

    catalog = get_catalog()
    plan = plan_suite(load_suite(suite_path), catalog)
    suite = plan.suite
    store = ResultStore(Path(suite.results_dir) / suite.name)
    records = {r["cell_id"]: r for r in store.records() if r.get("status") == "ok"}
    root = Path(suite.cache_dir) if suite.cache_dir else cache_dir()
    provider = FeatureProvider(FeatureCache(root / "features"), catalog, {"device": "cpu"})
    worst = 0.0
    data_by_variant: dict = {}
    for cell in plan.cells:
        if cell.level != "unimodal" or cell.modalities != ("image",) \
                or cell.classifier.name != "logreg" or cell.cell_id not in records:
            continue
        if cell.dataset not in data_by_variant:
            entry = catalog["dataset"].get(cell.dataset.name)
            data_by_variant[cell.dataset] = entry.cls(**cell.dataset.kwargs).load()
        data = data_by_variant[cell.dataset]
        train, test = make_split(data.y, dict(cell.split), cell.seed, cell.fold)
        feat = dict(cell.featurizers)["image"]
        xtr, xte = provider.features(feat, data, train, test)
        if provider.computed:
            print(f"features for {feat.label} were not cached; run the suite first")
            return 2
        params = cell.classifier.kwargs
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(C=params.get("C", 1.0), max_iter=params.get("max_iter", 300),
                                 random_state=cell.seed)
        clf.fit(scaler.transform(xtr), data.y[train])
        acc = float(np.mean(clf.predict(scaler.transform(xte)) == data.y[test]))
        recorded = records[cell.cell_id]["metrics"]["accuracy"]
        worst = max(worst, abs(acc - recorded))
        print(f"{feat.label:40s} seed={cell.seed}  recorded {recorded:.4f}  "
              f"recomputed {acc:.4f}  diff {acc - recorded:+.4f}")
    print(f"largest difference: {worst:.4f}")
    return 0 if worst < 0.005 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
