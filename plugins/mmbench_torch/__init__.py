"""Torch plugins: the shared fast batching path (:mod:`.batching`), EfficientNet-Lite0 with
packaged ImageNet weights (works offline), and the ``mlp`` classifier (:mod:`.mlp`)."""

from __future__ import annotations

import mmbench

from .efficientnet import EfficientNetLite0
from .mlp import MLP


@mmbench.hookimpl
def mmbench_register_featurizers(register):  # type: ignore[no-untyped-def]
    register(EfficientNetLite0, name="efficientnet-lite0", aliases=["effnet-lite0"])


@mmbench.hookimpl
def mmbench_register_classifiers(register):  # type: ignore[no-untyped-def]
    register(MLP, name="mlp", aliases=["mlp-torch"])
