"""A tiny synthetic image + text dataset for smoke runs and tests (no download, < 1 s)."""

from __future__ import annotations

import mmbench
from mmbench.protocols import MultimodalData


class Synthetic:
    """Coloured noise images and class-word captions (``mmbench.testing.tiny_data``).

    Each 8x8 image's colour and each caption's class word show the sample's class with
    probability ``image_signal`` / ``text_signal`` (else a random class, independently), so each
    modality alone is imperfect and together they do better. Loads in well under a second.

    :param n: number of samples, at least 4 per class (classes take turns, then are shuffled).
    :param n_classes: number of classes, 2 to 6 (``class0``, ``class1``...).
    :param image_signal: probability, in [0, 1], that an image's colour shows its own class.
    :param text_signal: probability, in [0, 1], that a caption's class word names its own
        class.
    :param seed: seed of the generator: the same seed gives the same samples.
    """

    modalities = ("image", "text")

    def __init__(self, *, n: int = 300, n_classes: int = 3, image_signal: float = 0.7,
                 text_signal: float = 0.6, seed: int = 0) -> None:
        if not isinstance(n, int) or n < 4 * n_classes:
            raise ValueError(f"n must be an integer >= 4 * n_classes, got {n!r}")
        for name, value in (("image_signal", image_signal), ("text_signal", text_signal)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        self.params = dict(n=n, n_classes=n_classes, image_signal=image_signal,
                           text_signal=text_signal, seed=seed)
        from mmbench.testing import WORDS

        if not 2 <= n_classes <= len(WORDS):
            raise ValueError(f"n_classes must be in 2..{len(WORDS)}, got {n_classes!r}")

    def load(self) -> MultimodalData:
        from mmbench.testing import tiny_data

        return tiny_data(**self.params)


@mmbench.hookimpl
def mmbench_register_datasets(register):  # type: ignore[no-untyped-def]
    register(Synthetic, name="synthetic")
