"""Torch featurizers: the shared fast batching path (:mod:`.batching`) and EfficientNet-Lite0
with packaged ImageNet weights (works offline)."""

from __future__ import annotations

import mmbench

from .efficientnet import EfficientNetLite0


@mmbench.hookimpl
def mmbench_register_featurizers(register):  # type: ignore[no-untyped-def]
    register(EfficientNetLite0, name="efficientnet-lite0", aliases=["effnet-lite0"])
