"""What the split checks and the train/test duplicates audit add to a run's start, side by side in
one run, on the 10,000 captioned CIFAR-10 images (or, without MMBENCH_DATA_DIR, the synthetic
dataset at that size):

    MMBENCH_DATA_DIR=/work/shared/data MMBENCH_CACHE_DIR=/tmp/cache python benchmarks/splits.py

Prints the seconds of (a) loading the dataset (a cached load), (b) computing and checking every
split of 3 seeds (stratified and 5-fold; without groups, then with 1,000 synthetic groups:
StratifiedGroupKFold's own cost), (c) the duplicates
audit of those splits over the image and text modalities, and their ratios to (a); then the
duplicates the audit finds in CIFAR-10's captioned test set.
"""

from __future__ import annotations

import os
import time

import numpy as np

from mmbench.duplicates import duplicate_audit
from mmbench.splits import check_splits, split_label

SEEDS = [0, 1, 2]
SPLITS = [{"method": "stratified", "test_size": 0.2}, {"method": "kfold", "k": 5}]


def load() -> object:
    if os.environ.get("MMBENCH_DATA_DIR"):
        from mmbench_cifar10 import Cifar10

        return Cifar10(download=False).load()
    from mmbench.testing import tiny_data

    return tiny_data(n=10_000, n_classes=5, size=32)


def main() -> None:
    load()  # warm the cache: (a) is a cached load, as in every run after the first
    check_splits(np.arange(20) % 2, ["a", "b"], SPLITS[0], [0])  # scikit-learn imported (a run
    # imports it anyway)
    t0 = time.perf_counter()
    data = load()
    t_load = time.perf_counter() - t0
    groups = np.arange(len(data)) % 1000  # type: ignore[arg-type]
    splits = {}
    took = {False: 0.0, True: 0.0}
    for spec in SPLITS:
        for g in (None, groups):
            t0 = time.perf_counter()
            found = check_splits(data.y, data.class_names, spec, SEEDS, g)  # type: ignore[attr-defined]
            took[g is not None] += time.perf_counter() - t0
            name = split_label(spec) + (" grouped" if g is not None else "")
            splits.update({f"{name} seed={s} fold={f}": v for (s, f), v in found.items()})
    plain = {k: v for k, v in splits.items() if "grouped" not in k}
    t0 = time.perf_counter()
    report = duplicate_audit(data, plain)  # type: ignore[arg-type]
    t_dup = time.perf_counter() - t0
    n = len(data)  # type: ignore[arg-type]
    print(f"{n} samples, {len(splits)} splits checked, {len(plain)} audited for duplicates")
    print(f"(a) {'cached load':<22} {t_load:8.3f} s   1.00")
    for grouped, t in took.items():
        what = "grouped split checks" if grouped else "split checks"
        print(f"(b) {what:<22} {t:8.3f} s   {t / t_load:.2f} of (a)")
    print(f"(c) {'duplicates audit':<22} {t_dup:8.3f} s   {t_dup / t_load:.2f} of (a)")
    for modality, entry in report.items():
        print(f"{modality}: {entry['level']}: {entry['message']}")


if __name__ == "__main__":
    main()
