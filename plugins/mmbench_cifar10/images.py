"""Decoding the CIFAR-10 test images (official batches or JPEG folders), cached as ``.npy``.

The decoded ``uint8[N,32,32,3]`` array, the labels and each image's key (its index in the
official ``test_batch``, or its JPEG path such as ``test/cat/0000.jpg``) are kept in
``cache_dir()/cifar10/arrays/<key>/``, keyed by the source's path, size and mtime, so a second
load reads one ``.npy`` instead of decoding 10,000 images. An entry is written into a temp
folder, with the sha256 of its files, flushed to disk and renamed into place; a truncated or
tampered entry fails its checksums on read and is decoded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmbench import paths
from mmbench.cache import dir_mode, fsync_dir
from mmbench.errors import UserError

from .names import CLASS_NAMES
from .sources import Located, damage, identity, image_dir, seal
from .unpickle import load_batch

_CACHE_FORMAT = "2"  # 2: entries carry sha256.json


@dataclass(frozen=True)
class TestImages:
    """The test images of one source, in the source's order."""

    images: np.ndarray  # uint8[N, 32, 32, 3]
    labels: np.ndarray  # int64[N]
    keys: list[int] | list[str]  # official test index (batches) or relative JPEG path


def load_test_images(loc: Located) -> TestImages:
    """The test images of ``loc``: from the ``.npy`` cache when the source is unchanged, else
    decoded (unpacking an archive first) and cached."""
    key = _source_key(loc)
    folder = paths.cache_dir() / "cifar10" / "arrays"
    cached = _read(folder / key)
    if cached is not None:
        return cached
    src = image_dir(loc)
    result = _from_batches(src) if loc.layout == "batches" else _from_jpegs(src / "test")
    _write(folder, key, result)
    return result


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


def _read(path: Path) -> TestImages | None:
    if not path.is_dir():
        return None
    problem = damage(path)
    if problem is not None:
        warnings.warn(f"decoded CIFAR-10 cache {path} is damaged ({problem}); decoding again")
        return None
    try:
        images = np.load(path / "images.npy")
        labels = np.load(path / "labels.npy")
        keys = json.loads((path / "keys.json").read_text())
    except (OSError, ValueError):
        return None
    if len(images) != len(labels) or len(keys) != len(labels):
        return None
    return TestImages(images, labels, keys)


def _write(folder: Path, key: str, data: TestImages) -> None:
    """Write the cache entry into a temp folder, then rename it into place (atomic)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder))
    os.chmod(tmp, dir_mode())  # mkdtemp makes it 0700: the umask decides, as for mkdir
    try:
        np.save(tmp / "images.npy", data.images)
        np.save(tmp / "labels.npy", data.labels)
        (tmp / "keys.json").write_text(json.dumps(data.keys))
        seal(tmp, sync=True)
        shutil.rmtree(folder / key, ignore_errors=True)  # a damaged entry that failed to read
        with contextlib.suppress(OSError):  # fails only if another process wrote it first
            os.rename(tmp, folder / key)
            fsync_dir(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        images = np.stack(list(pool.map(_decode, files, chunksize=256)))
    keys = [p.relative_to(test.parent).as_posix() for p in files]
    return TestImages(images, np.asarray(labels, dtype=np.int64), keys)


#: Image modes converted to 8-bit RGB on load (grey is replicated, a palette looked up, an
#: alpha channel dropped). Other modes (16-bit, 32-bit int or float) are refused: converting
#: them would mean guessing how to scale their values to 0..255.
CONVERTIBLE_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"})


def _decode(path: Path) -> np.ndarray:
    """One 32x32 image as ``uint8[32, 32, 3]``: other modes converted (see
    :data:`CONVERTIBLE_MODES`), other sizes refused (resizing would change the benchmark)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in CONVERTIBLE_MODES:
                raise UserError(
                    f"{path}: image mode {im.mode!r} is not 8-bit; mmbench converts only "
                    f"{', '.join(sorted(CONVERTIBLE_MODES))} to RGB: save it as 8-bit RGB")
            if im.size != (32, 32):
                raise UserError(
                    f"{path}: image is {im.size[0]}x{im.size[1]} pixels, CIFAR-10 images are "
                    f"32x32; mmbench does not resize them (that would change the data): "
                    f"replace the file with the original image")
            arr = np.asarray(im.convert("RGB"))
    except UserError:
        raise
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for bad files
        raise UserError(f"cannot decode image {path} ({exc}): replace the file.") from exc
    return arr
