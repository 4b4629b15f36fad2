"""Finding CIFAR-10 on disk, downloading it when allowed, unpacking archives into the cache.

A data folder (``<data_dir>/cifar10/``) is only ever read: archives are unpacked into
``mmbench.paths.cache_dir()/cifar10/unpacked/``, once per archive identity.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmbench import paths
from mmbench.cache import dir_mode, fsync_dir
from mmbench.errors import DataMissingError, UserError
from mmbench.loading.store import damage, seal


@dataclass(frozen=True)
class Remote:
    """A file to download: where from, the name to save it as, its md5 (None: unchecked)."""

    url: str
    filename: str
    md5: str | None = None


#: The canonical online sources. Tests replace entries to point at a local server.
REMOTES: dict[str, Remote] = {
    "images": Remote(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
    ),
    "captions": Remote(
        "https://raw.githubusercontent.com/pseudope/fomo_in_flux/main/data_lib/00_info/"
        "CIFAR10_test.json",
        "CIFAR10_test.json",
    ),
}

#: Accepted image sources inside the dataset folder, in order of preference:
#: (name, layout). The official python batches are lossless, so they win over the JPEGs.
IMAGE_SOURCES = (
    ("cifar-10-batches-py", "batches"),
    ("cifar-10-python.tar.gz", "batches"),
    ("test", "jpeg"),
    ("cifar10_jpg.tar.gz", "jpeg"),
)
#: Accepted caption files, in order of preference.
CAPTION_FILES = (
    "captions.csv",
    "CIFAR10_test.json",
    "CIFAR10_test.json.gz",
    "fomo_in_flux_CIFAR10_test.json.gz",
)
_ACCEPTED = (
    "images as one of cifar-10-python.tar.gz, cifar-10-batches-py/, cifar10_jpg.tar.gz or "
    "test/<class>/*.jpg; captions as one of " + ", ".join(CAPTION_FILES)
)


@dataclass(frozen=True)
class Located:
    """Where the images and captions were found."""

    folder: Path
    images: Path
    layout: str  # "batches" (official python pickles) or "jpeg"
    captions: Path


def identity(path: Path) -> str:
    """A short hash of a file's path, size and modification time (a cache key)."""
    st = path.stat()
    raw = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def locate(data_dir: str | None, download: bool) -> Located:
    """Find the data (a configured folder, else the download folder), downloading the missing
    files into the download folder when no folder is configured and ``download`` is True.
    Raises one :class:`DataMissingError` saying what is missing and how to provide it."""
    root = paths.data_dir(data_dir)
    if root is not None:
        folder = root / "cifar10"
        if not folder.is_dir() and _find_images(root):
            folder = root  # data_dir points at the cifar10 folder itself: accept it
    else:
        folder = paths.download_dir() / "cifar10"
    images, captions = _find_images(folder), _find_captions(folder)
    if images and captions:
        return Located(folder, images[0], images[1], captions)
    can_download = root is None and download
    hint = _how_to_provide(folder, images is None, captions is None, root is not None, download)
    if not can_download:
        raise DataMissingError(hint)
    from mmbench.download import download as fetch

    if images is None:
        r = REMOTES["images"]
        fetch(r.url, folder / r.filename, md5=r.md5, desc="CIFAR-10 images", hint=hint)
        images = (folder / r.filename, "batches")
    if captions is None:
        r = REMOTES["captions"]
        captions = fetch(r.url, folder / r.filename, md5=r.md5, desc="CIFAR-10 captions", hint=hint)
    return Located(folder, images[0], images[1], captions)


def _find_images(folder: Path) -> tuple[Path, str] | None:
    for name, layout in IMAGE_SOURCES:
        p = folder / name
        if p.is_dir() if not name.endswith(".gz") else p.is_file():
            return p, layout
    return None


def _find_captions(folder: Path) -> Path | None:
    return next((folder / n for n in CAPTION_FILES if (folder / n).is_file()), None)


def _how_to_provide(
    folder: Path, no_images: bool, no_captions: bool, configured: bool, download: bool
) -> str:
    missing = " and ".join(
        w for w, m in (("the images", no_images), ("the captions", no_captions)) if m
    )
    where = "the configured data folder" if configured else "the download folder"
    why = (
        "and no data folder configured (unset MMBENCH_DATA_DIR and data_dir) "
        if configured
        else "and download enabled "
        if not download
        else ""
    )
    return (
        f"CIFAR-10: {missing} not found in {folder} ({where}). Accepted there: {_ACCEPTED}. "
        f"Provide them either way: set MMBENCH_DATA_DIR, or the suite's dataset data_dir, to a "
        f"folder whose cifar10/ holds these files; or run once with network access {why}to "
        f"download them into {paths.download_dir() / 'cifar10'}."
    )


def image_dir(loc: Located) -> Path:
    """The folder holding ``loc``'s images: unpacked into the cache first if it is an archive
    (``cifar-10-batches-py/`` for the batches, the folder holding ``test/`` for JPEGs)."""
    if loc.images.is_dir():
        return loc.images if loc.layout == "batches" else loc.images.parent
    if loc.layout == "batches":
        wanted = ("cifar-10-batches-py/test_batch", "cifar-10-batches-py/batches.meta")
        out = unpack(loc.images, lambda name: name in wanted)
        found = out / "cifar-10-batches-py"
    else:
        out = unpack(loc.images, lambda name: name.startswith("test/"))
        found = out
    if not (found / ("test_batch" if loc.layout == "batches" else "test")).exists():
        expected = wanted[0] if loc.layout == "batches" else "test/<class>/*.jpg"
        raise UserError(f"{loc.images} holds no {expected}: is it the right archive?")
    return found


def unpack(archive: Path, keep: Callable[[str], bool]) -> Path:
    """Extract the regular files of ``archive`` whose (normalized) names pass ``keep`` into a
    fresh cache folder, once (checksummed: a damaged folder is extracted again); refuses
    members that would land outside it."""
    base = paths.cache_dir() / "cifar10" / "unpacked"
    dest = base / f"{archive.name.split('.')[0]}-{identity(archive)}"
    if dest.is_dir():
        problem = damage(dest)
        if problem is None:
            return dest
        warnings.warn(f"unpacked cache {dest} cannot be trusted ({problem}); extracting again")
        shutil.rmtree(dest, ignore_errors=True)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=base))
    os.chmod(tmp, dir_mode())  # mkdtemp makes it 0700: the umask decides, as for mkdir
    try:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                name = _safe_name(archive, member.name)
                if not member.isfile() or not keep(name):
                    continue
                src = tf.extractfile(member)
                if src is None:
                    continue
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        seal(tmp)
        try:
            os.rename(tmp, dest)
        except OSError:  # another process finished first
            if not dest.is_dir():
                raise
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise UserError(f"{archive} is not a readable tar archive ({exc}): replace it.") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _safe_name(archive: Path, name: str) -> str:
    """``name`` without a leading ``./``; UserError if it is absolute or climbs out (``..``)."""
    path = name.replace("\\", "/")  # string work: 60,000 members took 1.9 s with pathlib
    parts = [x for x in path.split("/") if x not in ("", ".")]
    if path.startswith("/") or ".." in parts:
        raise UserError(f"{archive}: refusing unsafe archive member {name!r} (path traversal)")
    return "/".join(parts)
