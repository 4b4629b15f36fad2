"""Loading 10,000 images from a table, side by side in one run: a plain PIL loop, mmbench's
``table`` dataset's first load (threads, decoding into one array, checks, fingerprint, cache
write) and its cached reload:

    MMBENCH_DATA_DIR=/work/shared/data python benchmarks/datasets.py [--n 10000]

The images are the CIFAR-10 test JPEGs (extracted into a temporary folder with a
``metadata.csv`` of path, caption, label); the cache is a fresh temporary folder, so the first
load really decodes. Targets (issue 13): first load at least as fast as the plain loop, cached
reload under 5% of it.
"""

from __future__ import annotations

import argparse
import csv
import os
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    data_dir = Path(os.environ.get("MMBENCH_DATA_DIR", "/work/shared/data"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "images"
        make_folder(data_dir, folder, args.n)
        os.environ["MMBENCH_CACHE_DIR"] = str(Path(tmp) / "cache")
        from mmbench_tables import Table

        t0 = time.perf_counter()
        want = plain_loop(folder)
        t_plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = Table(path=str(folder)).load()
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = Table(path=str(folder)).load()
        t_again = time.perf_counter() - t0
        assert np.array_equal(first.modalities["image"], want)
        assert again.fingerprint == first.fingerprint
    print(f"{len(want)} images {want.shape[1]}x{want.shape[2]}, {os.cpu_count()} CPU(s)")
    print(f"plain PIL loop        {t_plain:7.3f} s   1.00")
    print(f"mmbench first load    {t_first:7.3f} s   {t_first / t_plain:.2f} of the plain loop")
    print(f"mmbench cached reload {t_again:7.3f} s   {t_again / t_plain:.3f} of the plain loop")


if __name__ == "__main__":
    main()
