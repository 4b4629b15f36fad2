"""The ``mlp`` classifier's training speed, side by side with logreg on the same matrix.

    python benchmarks/mlp.py                              # 8,000 x 1,280, 10 classes
    python benchmarks/mlp.py --n 40000 --d 1700 --k 13 --epochs 5
    python benchmarks/mlp.py --device cuda

The matrix is a Gaussian mixture (one random centre per class, unit noise) split 80/20. Prints,
per configuration, seconds per epoch, epochs run (early stopping on 10 % of the training part
unless ``--epochs`` fixes them), test accuracy, and the fit time as a ratio of logreg's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from mmbench_sklearn.classifiers import LogReg  # noqa: E402
from mmbench_torch.mlp import MLP  # noqa: E402
from mmbench_torch.training import cores  # noqa: E402


def mixture(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centres = rng.normal(0, 1, (k, d)) * (4.0 / np.sqrt(d))  # centre distance ~ 4 noise sds
    return (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8000)
    parser.add_argument("--d", type=int, default=1280)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=0,
                        help="fixed epochs without early stopping (0: early stopping)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    X, y = mixture(args.n, args.d, args.k)
    cut = int(0.8 * len(y))
    Xtr, ytr, Xte, yte = X[:cut], y[:cut], X[cut:], y[cut:]
    print(f"{args.n} x {args.d}, {args.k} classes; {cut} train / {len(y) - cut} test; "
          f"device {args.device}; {cores()} cores")
    t = time.perf_counter()
    logreg = LogReg(C=0.1, random_state=0).fit(Xtr, ytr)
    base = time.perf_counter() - t
    print(f"{'logreg C=0.1':34s} fit {base:7.2f} s{'':24s} acc "
          f"{np.mean(logreg.predict(Xte) == yte):.3f}  1.00x")
    fixed = {"max_epochs": args.epochs, "validation_fraction": 0.0} if args.epochs else {}
    configs = [("mlp hidden=256", {}), ("mlp hidden=256 n_jobs=1", {"n_jobs": 1}),
               ("mlp hidden=[512, 256]", {"hidden": [512, 256]}),
               ("mlp hidden=256 batch_size=1024", {"batch_size": 1024})]
    for label, params in configs:
        clf = MLP(random_state=0, device=args.device, **fixed, **params)
        t = time.perf_counter()
        clf.fit(Xtr, ytr)
        took = time.perf_counter() - t
        t = time.perf_counter()
        acc = np.mean(clf.predict(Xte) == yte)
        pred = time.perf_counter() - t
        print(f"{label:34s} fit {took:7.2f} s = {took / clf.n_iter_:.3f} s/epoch x "
              f"{clf.n_iter_:3d} (best {clf.best_epoch_:3d}) acc {acc:.3f} "
              f"{took / base:5.2f}x  predict {pred:.2f} s")


if __name__ == "__main__":
    main()
