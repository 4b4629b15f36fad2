"""A few real CIFAR-10 images for tests, read straight from the shared tarball (skips the
test when ``MMBENCH_DATA_DIR`` is unset)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")


def cifar_images(per_class: int, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(uint8[10 * per_class, 32, 32, 3], int64 labels): the first ``per_class`` images of
    each class."""
    from PIL import Image

    root = os.environ.get("MMBENCH_DATA_DIR")
    tar_path = Path(root or "/nonexistent") / "cifar10" / "cifar10_jpg.tar.gz"
    if not tar_path.is_file():
        pytest.skip("MMBENCH_DATA_DIR with cifar10/cifar10_jpg.tar.gz is not available")
    wanted = {f"{split}/{c}/{i:04d}.jpg": k for k, c in enumerate(CLASSES)
              for i in range(per_class)}
    found: dict[str, np.ndarray] = {}
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if name in wanted:
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                found[name] = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
                if len(found) == len(wanted):
                    break
    names = sorted(wanted, key=lambda n: (wanted[n], n))
    missing = [n for n in names if n not in found]
    assert not missing, f"{tar_path} lacks {missing[:3]}"
    return np.stack([found[n] for n in names]), np.array([wanted[n] for n in names])


_JPEGS: dict[tuple[int, str], list[tuple[str, str, bytes]]] = {}


def _jpeg_bytes(per_class: int, split: str) -> list[tuple[str, str, bytes]]:
    """(file name, class, bytes) of the first ``per_class`` JPEGs of each class, read once."""
    if (per_class, split) in _JPEGS:
        return _JPEGS[per_class, split]
    root = os.environ.get("MMBENCH_DATA_DIR")
    tar_path = Path(root or "/nonexistent") / "cifar10" / "cifar10_jpg.tar.gz"
    if not tar_path.is_file():
        pytest.skip("MMBENCH_DATA_DIR with cifar10/cifar10_jpg.tar.gz is not available")
    wanted = {f"{split}/{c}/{i:04d}.jpg": c for c in CLASSES for i in range(per_class)}
    found: dict[str, bytes] = {}
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if name in wanted:
                found[name] = tar.extractfile(member).read()  # type: ignore[union-attr]
                if len(found) == len(wanted):
                    break
    order = sorted(wanted, key=lambda n: (CLASSES.index(wanted[n]), n))
    _JPEGS[per_class, split] = [(Path(n).name, wanted[n], found[n]) for n in order]
    return _JPEGS[per_class, split]


def cifar_jpegs(per_class: int, dest: Path, split: str = "test") -> list[tuple[Path, str]]:
    """Write the first ``per_class`` JPEGs of each class (the original files, unchanged) to
    ``dest/<class>/NNNN.jpg``; returns ``(path, class name)`` in class order."""
    out = []
    for name, cls, data in _jpeg_bytes(per_class, split):
        path = dest / cls / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append((path, cls))
    return out
