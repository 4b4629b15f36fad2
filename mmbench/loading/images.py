"""Decoding images into ``uint8[N, H, W, 3]``: progress, threads for large images, one size
policy, mode rules.

- **Modes.** 8-bit modes (:data:`CONVERTIBLE_MODES`) are converted to RGB (grey replicated, a
  palette looked up, alpha dropped); 16-bit, 32-bit int and float images are refused (scaling
  them to 0..255 would be a guess).
- **Sizes** (:class:`SizePolicy`). Without a target size every image must have the size of the
  first: mixed sizes are refused naming two files of different sizes. With a target size and no
  ``resize``, an image of another size is refused. With ``resize``, each image of another size is
  brought to the target: ``squash`` (stretch to it), ``crop`` (scale to cover it, cut the centre)
  or ``pad`` (scale to fit inside it, centre on black).
- A source is a file path or the encoded bytes of one image (a Hugging Face ``Image`` cell).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmbench.errors import UserError
from mmbench.progress import track

#: Image modes converted to 8-bit RGB on load. Other modes (16-bit, 32-bit int or float) are
#: refused: converting them would mean guessing how to scale their values to 0..255.
CONVERTIBLE_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"})
RESIZE_METHODS = ("squash", "crop", "pad")

#: One image to decode: a file (a path or its string), or its encoded bytes.
Source = str | Path | bytes


@dataclass(frozen=True)
class SizePolicy:
    """What to do with image sizes.

    :param size: the target ``(width, height)``, or None: every image keeps its size, which
        must then be the same for all.
    :param resize: ``squash``, ``crop`` or ``pad`` (needs ``size``), or None: never resize.
    :param refusal: what the refusal of an image of another size says after its size (e.g.
        "CIFAR-10 images are 32x32; ..."); by default it names ``image_size`` and ``resize``.
    """

    size: tuple[int, int] | None = None
    resize: str | None = None
    refusal: str = ""

    def __post_init__(self) -> None:
        if self.resize is not None and self.resize not in RESIZE_METHODS:
            raise UserError(f"resize = {self.resize!r} is not one of {', '.join(RESIZE_METHODS)}")
        if self.resize is not None and self.size is None:
            raise UserError(f"resize = {self.resize!r} needs image_size (the size to resize to)")

    @classmethod
    def from_params(cls, image_size: Any, resize: Any, who: str) -> SizePolicy:
        """The policy for a dataset's ``image_size`` (an int for a square, or ``[width,
        height]``) and ``resize`` parameters; a :class:`UserError` naming ``who`` when bad."""
        size: tuple[int, int] | None = None
        if image_size is not None:
            parts = [image_size] * 2 if isinstance(image_size, int) else image_size
            if (not isinstance(parts, (list, tuple)) or len(parts) != 2 or any(
                    isinstance(p, bool) or not isinstance(p, int) or p < 1 for p in parts)):
                raise UserError(f"{who}: image_size = {image_size!r} must be a positive integer "
                                f"(a square) or [width, height]")
            size = (int(parts[0]), int(parts[1]))
        if resize is not None and not isinstance(resize, str):
            raise UserError(f"{who}: resize = {resize!r} must be one of {', '.join(RESIZE_METHODS)}")
        try:
            return cls(size, resize)
        except UserError as exc:
            raise UserError(f"{who}: {exc}") from None

    def describe(self) -> str:
        """A stable text form (part of cache keys and fingerprints)."""
        return f"size={self.size} resize={self.resize}"


def _name(source: Source, name: str | None) -> str:
    return name if name is not None else "image bytes" if isinstance(source, bytes) else str(
        source)


def open_rgb(source: Source, name: str | None = None) -> Any:
    """Open one image and convert it to 8-bit RGB (see :data:`CONVERTIBLE_MODES`); a
    :class:`UserError` naming it when it is missing, undecodable or not 8-bit."""
    from PIL import Image

    where = _name(source, name)
    try:
        im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        if im.mode not in CONVERTIBLE_MODES:
            raise UserError(
                f"{where}: image mode {im.mode!r} is not 8-bit; mmbench converts only "
                f"{', '.join(sorted(CONVERTIBLE_MODES))} to RGB: save it as 8-bit RGB")
        if im.mode != "RGB":
            return im.convert("RGB")
        im.load()
        return im
    except UserError:
        raise
    except FileNotFoundError:
        raise UserError(f"image file {where} does not exist: fix the path or add the file")
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for bad files
        raise UserError(f"cannot decode image {where} ({exc}): replace the file.") from exc


def fit(im: Any, size: tuple[int, int], method: str) -> Any:
    """``im`` brought to ``size`` (width, height) by ``squash``, ``crop`` or ``pad``."""
    from PIL import Image

    w, h = size
    if method == "squash":
        return im.resize(size, Image.Resampling.BICUBIC)
    scale = (max if method == "crop" else min)(w / im.width, h / im.height)
    nw, nh = max(1, round(im.width * scale)), max(1, round(im.height * scale))
    im = im.resize((nw, nh), Image.Resampling.BICUBIC)
    if method == "crop":
        left, top = (nw - w) // 2, (nh - h) // 2
        return im.crop((left, top, left + w, top + h))
    canvas = Image.new("RGB", size)
    canvas.paste(im, ((w - nw) // 2, (h - nh) // 2))
    return canvas


def decode_one(source: Source, policy: SizePolicy = SizePolicy(), name: str | None = None
               ) -> np.ndarray:
    """One image as a read-only ``uint8[H, W, 3]``, sized by ``policy`` (a fixed size without
    ``resize`` refuses other sizes)."""
    im = open_rgb(source, name)
    if policy.size is not None and im.size != policy.size:
        if policy.resize is None:
            w, h = policy.size
            raise UserError(
                f"{_name(source, name)}: image is {im.width}x{im.height} pixels; " + (
                    policy.refusal or f"image_size is {w}x{h}: set resize = \"squash\", "
                                      f"\"crop\" or \"pad\" to bring it to that size"))
        im = fit(im, policy.size, policy.resize)
    # tobytes + frombuffer: a fifth faster than np.asarray(im) on small images (read-only view)
    return np.frombuffer(im.tobytes(), dtype=np.uint8).reshape(im.height, im.width, 3)


#: Images of at least this many pixels are decoded on threads; smaller ones in one thread.
#: Pillow releases the GIL while it decodes, but a small image's decode is mostly Python-level
#: work that holds it: on 2 cores, threads were 1.4-1.6x slower than one loop for 32x32 to
#: 128x128 JPEGs and 0.9x for 256x256 (measured; docs/datasets.md, "Loading speed").
THREAD_PIXELS = 200 * 200


def _workers(pixels: int) -> int:
    """How many threads decode images of ``pixels`` pixels (1: the calling thread)."""
    return 1 if pixels < THREAD_PIXELS else max(1, min(8, os.cpu_count() or 1))


def decode_images(sources: Sequence[Source], policy: SizePolicy = SizePolicy(), *,
                  names: Sequence[str] | None = None, description: str = "decoding images"
                  ) -> np.ndarray:
    """Decode ``sources`` into one ``uint8[N, H, W, 3]`` array, in order, with a progress bar
    (on threads for images of at least :data:`THREAD_PIXELS` pixels). Without a target size,
    images of different sizes are refused naming the first file and the first of another
    size."""
    n = len(sources)
    label = (lambda i: names[i]) if names is not None else (lambda i: _name(sources[i], None))
    if n == 0:
        w, h = policy.size or (0, 0)
        return np.zeros((0, h, w, 3), dtype=np.uint8)
    first = decode_one(sources[0], policy, label(0))
    out = np.empty((n, *first.shape), dtype=np.uint8)
    out[0] = first
    mismatch: dict[int, tuple[int, ...]] = {}
    workers = _workers(first.shape[0] * first.shape[1])
    step = max(16, min(256, math.ceil(n / (4 * workers))))

    def run(start: int) -> int:
        stop = min(n, start + step)
        for i in range(start, stop):
            arr = decode_one(sources[i], policy, label(i))
            if arr.shape != first.shape:
                mismatch[i] = arr.shape
            else:
                out[i] = arr
        return stop - start

    chunks = list(range(1, n, step))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = pool.map(run, chunks) if workers > 1 else map(run, chunks)
        for _ in track(done, total=len(chunks), description=description):
            pass
    if mismatch:
        i = min(mismatch)
        (h0, w0), (h1, w1) = first.shape[:2], mismatch[i][:2]
        raise UserError(
            f"images differ in size: {label(0)} is {w0}x{h0} but {label(i)} is {w1}x{h1} "
            f"({len(mismatch)} of {n} differ from the first); mmbench never resizes silently: "
            f"set image_size and resize = \"squash\", \"crop\" or \"pad\"")
    return out


def array_digest(images: np.ndarray) -> str:
    """sha256 of an image array's shape and bytes (its content identity)."""
    h = hashlib.sha256(repr(images.shape).encode())
    h.update(np.ascontiguousarray(images).data)
    return h.hexdigest()
