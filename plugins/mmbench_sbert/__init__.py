"""sentence-transformers text featurizer (``sbert``); all-MiniLM-L6-v2 works offline."""

from __future__ import annotations

import mmbench

from .featurizer import SentenceEmbedding


@mmbench.hookimpl
def mmbench_register_featurizers(register):  # type: ignore[no-untyped-def]
    register(SentenceEmbedding, name="sbert", aliases=["sentence-transformers"])
