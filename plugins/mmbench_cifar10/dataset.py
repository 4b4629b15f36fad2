"""The ``cifar10`` dataset: the 10,000 CIFAR-10 test images, each with a caption.

Importing this module is cheap (numpy, PIL and the loaders are imported by :meth:`Cifar10.load`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from mmbench.errors import UserError

from .names import CAPTION_COLUMNS, CLASS_NAMES

if TYPE_CHECKING:
    from mmbench.protocols import MultimodalData

#: Images of each class in the official (captioned) test set.
TEST_PER_CLASS = 1000

CITATION = (
    "Images: Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images. "
    "Captions: Fomo-in-Flux (NeurIPS 2024), github.com/pseudope/fomo_in_flux (MIT)."
)


class Cifar10:
    """CIFAR-10 test images with captions (image + text).

    ``load()`` returns the 10,000 captioned images of the official test set, in official test
    order, as ``uint8[N,32,32,3]`` plus one caption each; labels index :data:`CLASS_NAMES`.

    :param caption: the caption column: ``"caption"`` (generated free text, imperfect like a
        real captioner's) or ``"primer_caption"`` ("A photo of a cat.": it leaks the label).
    :param data_dir: a folder holding ``cifar10/`` (default: ``$MMBENCH_DATA_DIR``). Inside it:
        ``cifar-10-python.tar.gz`` or ``cifar-10-batches-py/``, or ``cifar10_jpg.tar.gz`` or its
        extracted ``test/`` folder; plus ``captions.csv`` (or the ``CIFAR10_test.json``).
        Without one, the data is downloaded once into ``mmbench.paths.download_dir()/cifar10``.
    :param per_class: keep only the first ``per_class`` images of each class (official order):
        small, fast subsets for smoke suites and tests.
    :param download: allow downloading when no data folder is configured.
    """

    modalities: ClassVar[tuple[str, ...]] = ("image", "text")

    def __init__(
        self,
        *,
        caption: str = "caption",
        data_dir: str | None = None,
        per_class: int | None = None,
        download: bool = True,
    ) -> None:
        if caption not in CAPTION_COLUMNS:
            raise UserError(
                f"cifar10: caption={caption!r} is not a caption column; use one of "
                f"{', '.join(repr(c) for c in CAPTION_COLUMNS)}"
            )
        if per_class is not None and (
            isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1
        ):
            raise UserError(f"cifar10: per_class={per_class!r} must be a positive integer or null")
        if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
            raise UserError(f"cifar10: data_dir={data_dir!r} must be a folder path")
        if not isinstance(download, bool):
            raise UserError(f"cifar10: download={download!r} must be true or false")
        self.caption = caption
        self.data_dir = data_dir
        self.per_class = per_class
        self.download = download

    def __repr__(self) -> str:
        return (
            f"Cifar10(caption={self.caption!r}, data_dir={self.data_dir!r}, "
            f"per_class={self.per_class!r}, download={self.download!r})"
        )

    def class_counts(self) -> dict[str, int]:
        """Samples per class, known before loading (so ``mmbench validate`` checks the split):
        the captioned test set has 1,000 images of each class."""
        return {name: min(self.per_class or TEST_PER_CLASS, TEST_PER_CLASS)
                for name in CLASS_NAMES}

    def load(self) -> MultimodalData:
        """Locate (or download), decode and caption the test images; see the class docstring.

        :raises DataMissingError: the data is neither on disk nor downloadable.
        :raises UserError: damaged files, or captions that do not match the images.
        """
        import numpy as np

        from mmbench.protocols import MultimodalData

        from .captions import align, read_captions
        from .images import load_test_images
        from .sources import locate

        loc = locate(None if self.data_dir is None else str(self.data_dir), self.download)
        imgs = load_test_images(loc)
        pos, test_index, texts = align(
            read_captions(loc.captions), imgs, self.caption, loc.captions
        )
        y = imgs.labels[pos]
        if self.per_class is not None:
            keep = _first_per_class(y, self.per_class)
            pos, test_index, y = pos[keep], test_index[keep], y[keep]
            texts = [texts[i] for i in keep]
        images = np.ascontiguousarray(imgs.images[pos])
        y = y.astype(np.int64)
        kind = "official python batches" if loc.layout == "batches" else "JPEG folders"
        meta: dict[str, Any] = {
            "source": f"{loc.images} ({kind})",
            "images_path": str(loc.images),
            "captions_path": str(loc.captions),
            "layout": loc.layout,
            "caption_column": self.caption,
            "per_class": self.per_class,
            "n": len(y),
            "test_index_range": [int(test_index.min()), int(test_index.max())] if len(y) else [],
            "citation": CITATION,
        }
        return MultimodalData(
            modalities={"image": images, "text": texts},
            y=y,
            class_names=CLASS_NAMES,
            fingerprint=fingerprint(images, y, texts, self.caption),
            meta=meta,
        )


def _first_per_class(y: Any, per_class: int) -> Any:
    """Positions (in order) of the first ``per_class`` samples of each class in ``y``."""
    import numpy as np

    counts = np.bincount(y, minlength=len(CLASS_NAMES))
    short = [f"{CLASS_NAMES[c]} ({n})" for c, n in enumerate(counts) if n < per_class]
    if short:
        raise UserError(
            f"cifar10: per_class={per_class} but the test set has fewer images of "
            f"{', '.join(short)}; use a smaller per_class."
        )
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(len(CLASS_NAMES))])
    return np.sort(keep)


def fingerprint(images: Any, y: Any, texts: list[str], column: str) -> str:
    """sha256 over the image bytes, the labels, the texts and the caption column's name."""
    import hashlib

    import numpy as np

    h = hashlib.sha256(b"cifar10-v1\0")
    h.update(repr(images.shape).encode())
    h.update(np.ascontiguousarray(images).tobytes())
    h.update(np.asarray(y, dtype="<i8").tobytes())
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    h.update(column.encode())
    return h.hexdigest()
