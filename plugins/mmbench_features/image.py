"""Image features that need no weights: HOG + colour histogram, and raw pixels."""

from __future__ import annotations

import numpy as np

from mmbench.progress import track
from mmbench.protocols import modality_param


class HogColor:
    """HOG of the grey image (scikit-image) plus a per-channel colour histogram.

    The width depends on the image size (known only after featurizing): for 32x32 images and the
    defaults, 324 HOG values plus 24 histogram bins.

    :param orientations: number of gradient-orientation bins of each HOG cell.
    :param pixels_per_cell: side of a HOG cell in pixels (smaller: more cells, more features).
    :param cells_per_block: side of a HOG normalization block, in cells.
    :param color_bins: histogram bins per colour channel (over 0-255), each the share of the
        image's pixels.
    :param modality: the image modality read (default ``image``).
    """

    modality = "image"
    kind = "image"
    version = "1"
    fits_on_train = False

    def __init__(self, *, modality: str = "image", orientations: int = 9, pixels_per_cell: int = 8,
                 cells_per_block: int = 2, color_bins: int = 8) -> None:
        for name, value in (("orientations", orientations), ("pixels_per_cell", pixels_per_cell),
                            ("cells_per_block", cells_per_block), ("color_bins", color_bins)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.modality = modality_param(modality, "image")
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.color_bins = color_bins

    def fit(self, samples: np.ndarray) -> HogColor:
        return self

    def transform(self, samples: np.ndarray) -> np.ndarray:
        from skimage.color import rgb2gray
        from skimage.feature import hog

        images = np.asarray(samples)
        ppc = (self.pixels_per_cell,) * 2
        cpb = (self.cells_per_block,) * 2
        rows = []
        for start in track(range(0, len(images), 512), description="hog-color"):
            for img in images[start:start + 512]:
                h = hog(rgb2gray(img), orientations=self.orientations, pixels_per_cell=ppc,
                        cells_per_block=cpb, feature_vector=True)
                hist = [np.histogram(img[..., c], bins=self.color_bins, range=(0, 256))[0]
                        for c in range(3)]
                color = np.concatenate(hist).astype(np.float32) / img[..., 0].size
                rows.append(np.concatenate([h.astype(np.float32), color]))
        return np.stack(rows).astype(np.float32)


class Pixels:
    """Raw pixels scaled to [0, 1], flattened (optionally downsampled by striding).

    :param stride: keep every ``stride``-th row and column (1: all pixels; 4 on 32x32 images:
        8x8x3 = 192 features).
    :param modality: the image modality read (default ``image``).
    """

    modality = "image"
    kind = "image"
    version = "1"
    fits_on_train = False

    def __init__(self, *, modality: str = "image", stride: int = 1) -> None:
        if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
            raise ValueError(f"stride must be a positive integer, got {stride!r}")
        self.modality = modality_param(modality, "image")
        self.stride = stride

    def fit(self, samples: np.ndarray) -> Pixels:
        return self

    def memory_estimate(self, samples: np.ndarray) -> dict[str, int]:
        """Peak bytes of :meth:`transform`: the strided copy (uint8), the float64 quotient and
        the float32 result, N x D each."""
        shape = np.shape(samples)
        if len(shape) != 4:
            return {}
        n, h, w, c = shape
        d = -(-h // self.stride) * -(-w // self.stride) * c
        return {"outputs": n * d * (1 + 8 + 4)}

    def transform(self, samples: np.ndarray) -> np.ndarray:
        images = np.asarray(samples)[:, :: self.stride, :: self.stride, :]
        return (images.reshape(len(images), -1) / 255.0).astype(np.float32)
