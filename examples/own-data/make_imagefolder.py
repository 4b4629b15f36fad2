"""Build a small image-folder dataset from the shared CIFAR-10 JPEGs and captions.

    python examples/own-data/make_imagefolder.py DATA_DIR OUT [--per-class 20]

DATA_DIR holds ``cifar10/cifar10_jpg.tar.gz`` and ``cifar10/captions.csv`` (e.g.
``$MMBENCH_DATA_DIR``). OUT gets ``<class>/NNNN.jpg`` (the original JPEG bytes) and
``metadata.csv`` with ``file_name,text,label,photo``: the Hugging Face imagefolder convention,
which ``examples/own-data/suite.toml`` reads with the built-in ``table`` dataset.
"""

from __future__ import annotations

import argparse
import csv
import tarfile
from pathlib import Path


def build(data_dir: Path, out: Path, per_class: int) -> int:
    """Write ``per_class`` captioned images of each class to ``out``; returns the row count."""
    src = data_dir / "cifar10"
    captions = {}
    with open(src / "captions.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            captions[row["path"]] = row
    wanted = {p for p in captions if int(Path(p).stem) < per_class}
    rows = []
    with tarfile.open(src / "cifar10_jpg.tar.gz", "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if name not in wanted:
                continue
            rel = Path(*Path(name).parts[1:])  # test/cat/0003.jpg -> cat/0003.jpg
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
            row = captions[name]
            rows.append({"file_name": rel.as_posix(), "text": row["caption"],
                         "label": row["label"], "photo": int(row["test_index"])})
            if len(rows) == len(wanted):
                break
    rows.sort(key=lambda r: r["photo"])
    with open(out / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file_name", "text", "label", "photo"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()
    n = build(args.data_dir, args.out, args.per_class)
    print(f"wrote {n} images and {args.out / 'metadata.csv'}")


if __name__ == "__main__":
    main()
