"""Cost against dataset size: the same small grid (HOG + TF-IDF features, unimodal, concat and
late-mean fusion, logistic regression, one seed) on 1k, 4k, 16k and 48k samples of the synthetic
image + text dataset, each size in a fresh process with a cold feature cache.

For each size it prints, per phase of the run's cost breakdown (:mod:`mmbench.breakdown`:
loading, the leakage audit, each featurizer, fitting, predicting, scoring with bootstrap
intervals, writing records), the seconds and the ratio to linear growth from the smallest size
(``(t_n / t_1k) / (n / 1k)``: 1.0 is linear, above 1 superlinear), and the process's peak
resident memory beside it. Sizes run one after another in one invocation, so their ratios are
measured side by side.

    .venv/bin/python benchmarks/scale.py [--sizes 1000,4000,16000,48000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = """
name = "scale"
seeds = [0]
results_dir = "{root}/results"
cache_dir = "{root}/cache"

[[datasets]]
name = "synthetic"
params = {{ n = {n}, n_classes = 5 }}
split = {{ method = "stratified", test_size = 0.2 }}

[[featurizers]]
name = "hog-color"
params = {{ pixels_per_cell = 4 }}

[[featurizers]]
name = "tfidf"
params = {{ max_features = 2048, min_df = 1 }}

[[fusions]]
name = "concat"

[[fusions]]
name = "late-mean"

[[classifiers]]
name = "logreg"
params = {{ C = 0.1 }}
"""


def one(n: int) -> dict:
    """Run the grid on ``n`` samples in this process; its cost and peak memory."""
    from rich.console import Console

    from mmbench.runner import run_suite

    root = Path(tempfile.mkdtemp(prefix=f"mmbench-scale-{n}-"))
    path = root / "suite.toml"
    path.write_text(SUITE.format(root=root, n=n))
    summary = run_suite(path, Console(file=open(os.devnull, "w")), executor="local")
    assert not summary.failed, summary.failed
    cost = summary.cost
    phases = {**cost["client"], **{f"cells: {k}": v for k, v in cost["cells"].items()}}
    phases["total (wall)"] = cost["wall_s"]
    return {"n": n, "phases": phases,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,4000,16000,48000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    runs = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True,
                             capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(f"n={n}: {runs[-1]['phases']['total (wall)']:.1f} s, peak RSS "
              f"{runs[-1]['peak_rss_mb']:.0f} MiB", flush=True)
    base = runs[0]
    names = [p for p in base["phases"] if not p.startswith("other")]
    names += [p for r in runs for p in r["phases"] if p not in names and not p.startswith("other")]
    width = max(map(len, names))
    print(f"\n{'phase':{width}s} " + " ".join(f"{r['n']:>16,d}" for r in runs))
    print(f"{'':{width}s} " + " ".join(f"{'s (x linear)':>16s}" for _ in runs))
    for name in names:
        cells = []
        for r in runs:
            t, t0 = r["phases"].get(name), base["phases"].get(name)
            if t is None:
                cells.append(f"{'-':>16s}")
                continue
            ratio = (t / t0) / (r["n"] / base["n"]) if t0 else float("nan")
            cells.append(f"{t:8.2f} (x{ratio:4.2f})")
        print(f"{name:{width}s} " + " ".join(cells))
    print(f"{'peak RSS MiB':{width}s} " + " ".join(
        f"{r['peak_rss_mb']:8.0f} (x{(r['peak_rss_mb'] / base['peak_rss_mb']) / (r['n'] / base['n']):4.2f})"
        for r in runs))
    print("\nx linear: (t_n / t_smallest) / (n / n_smallest); phases under 0.05 s at the smallest "
          "size are noise-dominated. Machine load moves every number: read the columns of one run.")


if __name__ == "__main__":
    main()
