"""Built-in fusion strategies at every level.

- unimodal: one modality alone (the baseline every fusion is measured against);
- feature level (:mod:`.feature`): ``concat``, ``weighted-sum``;
- decision level (:mod:`.decision`): ``late-mean``, ``late-weighted``, ``late-product``,
  ``late-max``, ``stacking``;
- structure level (:mod:`.structure`, :mod:`.joint`): ``cca``, ``pls``, ``tensor``,
  ``low-rank-tensor``, ``joint-embedding``.

Heavy dependencies (torch) are imported inside the strategies that use them.
"""

from __future__ import annotations

import mmbench

from .decision import LateMax, LateMean, LateProduct, LateWeighted, Stacking
from .feature import Concat, WeightedSum
from .joint import JointEmbedding, LowRankTensor
from .structure import CCA, PLS, Tensor
from .unimodal import Unimodal


@mmbench.hookimpl
def mmbench_register_fusions(register):  # type: ignore[no-untyped-def]
    register(Unimodal, name="unimodal")
    register(Concat, name="concat", aliases=["early"])
    register(WeightedSum, name="weighted-sum")
    register(LateMean, name="late-mean")
    register(LateWeighted, name="late-weighted")
    register(LateProduct, name="late-product")
    register(LateMax, name="late-max")
    register(Stacking, name="stacking")
    register(CCA, name="cca")
    register(PLS, name="pls")
    register(Tensor, name="tensor", aliases=["tfn"])
    register(LowRankTensor, name="low-rank-tensor", aliases=["lmf"])
    register(JointEmbedding, name="joint-embedding")
