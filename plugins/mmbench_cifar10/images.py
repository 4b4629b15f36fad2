"""Decoding the CIFAR-10 test images (official batches or JPEG folders), cached as ``.npy``.

The decoded ``uint8[N,32,32,3]`` array, the labels and each image's key (its index in the
official ``test_batch``, or its JPEG path such as ``test/cat/0000.jpg``) are kept through the
shared loader (:mod:`mmbench.loading`) in ``cache_dir()/cifar10/arrays/<key>/``, keyed by the
source's path, size and mtime, so a second load reads one ``.npy`` instead of decoding 10,000
images. JPEGs are decoded by the shared decoder (threads, progress, mode conversion); an entry is
sealed with the sha256 of its files, and a truncated or tampered one is decoded again.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmbench.errors import UserError
from mmbench.loading import SizePolicy, cached_arrays, decode_images

from .names import CLASS_NAMES
from .sources import Located, identity, image_dir
from .unpickle import load_batch

_CACHE_FORMAT = "3"  # 2: entries carry sha256.json; 3: the shared loader's entry layout

#: CIFAR-10 JPEGs are decoded as they are: 32x32, never resized (that would change the data).
SIZE = SizePolicy((32, 32), refusal=(
    "CIFAR-10 images are 32x32; mmbench does not resize them (that would change the data): "
    "replace the file with the original image"))


@dataclass(frozen=True)
class TestImages:
    """The test images of one source, in the source's order."""

    images: np.ndarray  # uint8[N, 32, 32, 3]
    labels: np.ndarray  # int64[N]
    keys: list[int] | list[str]  # official test index (batches) or relative JPEG path


def load_test_images(loc: Located) -> TestImages:
    """The test images of ``loc``: from the shared decoded-array cache
    (:mod:`mmbench.loading`) when the source is unchanged, else decoded (unpacking an archive
    first) and cached."""

    def build() -> tuple[dict[str, np.ndarray], dict[str, object]]:
        src = image_dir(loc)
        got = _from_batches(src) if loc.layout == "batches" else _from_jpegs(src / "test")
        return {"images": got.images, "labels": got.labels}, {"keys": got.keys}

    (arrays, meta), _ = cached_arrays("cifar10/arrays", _source_key(loc), build,
                                      what="decoded CIFAR-10 cache")
    images, labels, keys = arrays.get("images"), arrays.get("labels"), meta.get("keys")
    if images is None or labels is None or keys is None or not (
            len(images) == len(labels) == len(keys)):
        (arrays, meta) = build()
        images, labels, keys = arrays["images"], arrays["labels"], meta["keys"]
    return TestImages(images, labels, keys)


def _source_key(loc: Located) -> str:
    """Hash of the identity (path, size, mtime) of every file the images come from."""
    if loc.images.is_file():
        parts = [identity(loc.images)]
    elif loc.layout == "batches":
        parts = [identity(p) for p in sorted(loc.images.iterdir()) if p.is_file()]
    else:
        parts = []
        for d in sorted(p for p in loc.images.iterdir() if p.is_dir()):
            for e in sorted(os.scandir(d), key=lambda e: e.name):
                st = e.stat()
                parts.append(f"{e.path}|{st.st_size}|{st.st_mtime_ns}")
    raw = "\n".join([_CACHE_FORMAT, loc.layout, str(loc.images.resolve()), *parts])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _from_batches(folder: Path) -> TestImages:
    meta_path = folder / "batches.meta"
    if meta_path.is_file():
        meta = load_batch(meta_path)
        names = tuple(_text(n) for n in meta.get(b"label_names", []))
        if names != CLASS_NAMES:
            raise UserError(f"{meta_path}: label_names {names} are not CIFAR-10's {CLASS_NAMES}")
    path = folder / "test_batch"
    batch = load_batch(path)
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != 3 * 32 * 32
        or not isinstance(labels, list)
        or len(labels) != len(data)
    ):
        raise UserError(
            f"{path}: expected b'data' uint8[N, 3072] and b'labels' (N ints), as in the "
            f"official cifar-10-python.tar.gz; replace the file."
        )
    y = np.asarray(labels, dtype=np.int64)
    if len(y) and (y.min() < 0 or y.max() >= len(CLASS_NAMES)):
        raise UserError(f"{path}: labels outside 0..9")
    images = np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return TestImages(images, y, list(range(len(y))))


def _text(x: object) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _from_jpegs(test: Path) -> TestImages:
    """Decode ``test/<class>/*.jpg`` (classes in label order, files by name)."""
    unknown = sorted(p.name for p in test.iterdir() if p.is_dir() and p.name not in CLASS_NAMES)
    if unknown:
        raise UserError(
            f"{test}: unexpected class folder(s) {unknown}; expected only {list(CLASS_NAMES)}"
        )
    files: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(CLASS_NAMES):
        d = test / name
        found = sorted(d.glob("*.jpg")) if d.is_dir() else []
        files += found
        labels += [label] * len(found)
    if not files:
        raise UserError(f"{test} holds no <class>/*.jpg images")
    images = decode_images(files, SIZE, description="decoding CIFAR-10 JPEGs")
    keys = [p.relative_to(test.parent).as_posix() for p in files]
    return TestImages(images, np.asarray(labels, dtype=np.int64), keys)
