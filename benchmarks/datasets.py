"""Loading 10,000 images from a table, side by side in one run: a plain PIL loop, mmbench's
``table`` dataset's first load (decoding into one array, checks, fingerprint, cache
write) and its cached reload:

    MMBENCH_DATA_DIR=/work/shared/data python benchmarks/datasets.py [--n 10000]

The images are the CIFAR-10 test JPEGs (extracted into a temporary folder with a
``metadata.csv`` of path, caption, label); the cache is a fresh temporary folder, so the first
load really decodes. Targets (issue 13): first load at least as fast as the plain loop, cached
reload under 5% of it. Imports and the OS file cache are warmed first, and the three are
interleaved over ``--rounds`` rounds (medians printed), so none pays for a cold start.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np


def make_folder(data_dir: Path, out: Path, n: int) -> list[Path]:
    """Extract the first ``n`` test JPEGs and write ``metadata.csv``."""
    captions = {}
    with open(data_dir / "cifar10" / "captions.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            captions[row["path"]] = row
    rows = []
    with tarfile.open(data_dir / "cifar10" / "cifar10_jpg.tar.gz", "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if name in captions and len(rows) < n:
                rel = Path(*Path(name).parts[1:])
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
                rows.append((rel.as_posix(), captions[name]["caption"], captions[name]["label"]))
    with open(out / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file_name", "text", "label"])
        w.writerows(rows)
    return [out / r[0] for r in rows]


def plain_loop(folder: Path) -> np.ndarray:
    """What a user would write: read the table, open each image with PIL, stack."""
    import pandas as pd
    from PIL import Image

    table = pd.read_csv(folder / "metadata.csv")
    return np.stack([np.asarray(Image.open(folder / f).convert("RGB"))
                     for f in table["file_name"]])


def _warm(folder: Path) -> None:
    """Imports done and every file read once, so no side pays for a cold start."""
    import pandas  # noqa: F401
    from PIL import Image  # noqa: F401

    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    args = parser.parse_args()
    if not os.environ.get("MMBENCH_DATA_DIR"):
        raise SystemExit("benchmarks/datasets.py: set MMBENCH_DATA_DIR to the folder holding "
                         "cifar10/ (the shared CIFAR-10 JPEGs)")
    data_dir = Path(os.environ["MMBENCH_DATA_DIR"])
    times: dict[str, list[float]] = {"plain": [], "first": [], "again": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        make_folder(data_dir, folder, args.n)
        from mmbench_tables import Table

        _warm(folder)
        for r in range(args.rounds):  # interleaved, so a passing load hits every side alike
            os.environ["MMBENCH_CACHE_DIR"] = str(Path(tmp) / f"cache{r}")  # fresh: decodes
            t0 = time.perf_counter()
            want = plain_loop(folder)
            times["plain"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            first = Table(path=str(folder)).load()
            times["first"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = Table(path=str(folder)).load()
            times["again"].append(time.perf_counter() - t0)
            assert np.array_equal(first.modalities["image"], want)
            assert np.array_equal(again.modalities["image"], want)
            assert again.fingerprint == first.fingerprint
    plain, t_first, t_again = (statistics.median(times[k]) for k in ("plain", "first", "again"))
    print(f"{len(want)} images {want.shape[1]}x{want.shape[2]}, {os.cpu_count()} CPU(s), "
          f"median of {args.rounds} interleaved rounds")
    print(f"plain PIL loop        {plain:7.3f} s   1.00")
    print(f"mmbench first load    {t_first:7.3f} s   {t_first / plain:.2f} of the plain loop")
    print(f"mmbench cached reload {t_again:7.3f} s   {t_again / plain:.3f} of the plain loop")


if __name__ == "__main__":
    main()
