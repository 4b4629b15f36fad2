"""Built-in fusion strategies: unimodal baselines, feature-level and decision-level fusion."""

from __future__ import annotations

import mmbench

from .decision import LateMean
from .feature import Concat
from .unimodal import Unimodal


@mmbench.hookimpl
def mmbench_register_fusions(register):  # type: ignore[no-untyped-def]
    register(Unimodal, name="unimodal")
    register(Concat, name="concat", aliases=["early"])
    register(LateMean, name="late-mean")
