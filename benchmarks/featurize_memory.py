"""What keeping freed memory saves a CPU featurization, side by side in one run: EfficientNet-Lite0
over the same images with glibc's default allocation (every batch's activations mapped and
faulted in anew) and inside :func:`mmbench.heap.reuse_freed_memory` (as ``run_job`` runs every
featurizer), interleaved over ``--rounds`` rounds on ``--threads`` threads:

    MMBENCH_DATA_DIR=../shared/data python benchmarks/featurize_memory.py [--n 1024] [--size 128]

Prints, per way, the median wall time, the kernel (system) time and the minor page faults, the
ratio of the two wall times, and whether the features are bit-identical.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import time

import numpy as np
from featurize import load_images


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch: kept by the featurizer
    import torch

    from mmbench.heap import reuse_freed_memory
    from mmbench_torch.efficientnet import EfficientNetLite0

    torch.set_num_threads(args.threads)
    images, source = load_images(args.n)
    feat = EfficientNetLite0(image_size=args.size)
    feat.transform(images[:64])  # model loaded and warmed outside the clock
    ways = {"default allocation": contextlib.nullcontext, "freed memory kept": reuse_freed_memory}
    seen: dict[str, list[tuple[float, float, int]]] = {w: [] for w in ways}
    out: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for way, context in ways.items():
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            with context():
                out[way] = feat.transform(images)
            wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            seen[way].append((wall, r1.ru_stime - r0.ru_stime, r1.ru_minflt - r0.ru_minflt))
    print(f"EfficientNet-Lite0, {args.n} {source} images at {args.size} px, {args.threads} "
          f"thread(s), median of {args.rounds} rounds")
    med = {}
    for way, runs in seen.items():
        med[way] = statistics.median(r[0] for r in runs)
        print(f"  {way:20s} {med[way]:7.2f} s  ({args.n / med[way]:6.1f} img/s)  system "
              f"{statistics.median(r[1] for r in runs):6.2f} s  page faults "
              f"{int(statistics.median(r[2] for r in runs)):>9,}")
    print(f"  kept / default: {med['freed memory kept'] / med['default allocation']:.2f}x the "
          f"time; features identical: {np.array_equal(*out.values())}")


if __name__ == "__main__":
    main()
