"""Built-in featurizers that need no download: TF-IDF (text), HOG + colour histogram and raw
pixels (image), numeric (tabular columns)."""

from __future__ import annotations

import mmbench

from .image import HogColor, Pixels
from .numeric import Numeric
from .text import Tfidf


@mmbench.hookimpl
def mmbench_register_featurizers(register):  # type: ignore[no-untyped-def]
    register(Tfidf, name="tfidf")
    register(HogColor, name="hog-color", aliases=["hog"])
    register(Pixels, name="pixels")
    register(Numeric, name="numeric")
