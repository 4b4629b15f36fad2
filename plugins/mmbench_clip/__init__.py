"""open_clip plugins: image and text featurizers (``clip-image``, ``clip-text``) and CLIP's
zero-shot classifier (``clip-zeroshot``)."""

from __future__ import annotations

import mmbench

from .featurizers import ClipImage, ClipText
from .zeroshot import ClipZeroShot


@mmbench.hookimpl
def mmbench_register_featurizers(register):  # type: ignore[no-untyped-def]
    register(ClipImage, name="clip-image")
    register(ClipText, name="clip-text")


@mmbench.hookimpl
def mmbench_register_classifiers(register):  # type: ignore[no-untyped-def]
    register(ClipZeroShot, name="clip-zeroshot")
