"""TF-IDF text features, fitted on the training split only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mmbench.protocols import modality_param


class Tfidf:
    """TF-IDF of word n-grams (scikit-learn), vocabulary learnt from the training split only.

    :param max_features: keep at most this many n-grams, the most frequent in the training
        split (the width; it can be smaller when the vocabulary is).
    :param ngram_max: longest n-gram counted: 1 for single words, 2 for words and word pairs.
    :param min_df: ignore n-grams found in fewer training texts than this.
    :param sublinear_tf: use 1 + log(term frequency) instead of the raw count.
    :param lowercase: lowercase the texts before counting.
    :param modality: the text modality read (``text``, ``title``, ``question``...).
    """

    modality = "text"
    kind = "text"
    version = "1"
    fits_on_train = True

    def __init__(self, *, modality: str = "text", max_features: int = 2048, ngram_max: int = 2, min_df: int = 2,
                 sublinear_tf: bool = True, lowercase: bool = True) -> None:
        for name, value, lo in (("max_features", max_features, 1), ("ngram_max", ngram_max, 1),
                                ("min_df", min_df, 1)):
            if not isinstance(value, int) or isinstance(value, bool) or value < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
        for name, value in (("sublinear_tf", sublinear_tf), ("lowercase", lowercase)):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        self.modality = modality_param(modality, "text")
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.output_dim = max_features  # an upper bound: the vocabulary can be smaller
        self.vectorizer_: Any = None

    def fit(self, samples: Sequence[str]) -> Tfidf:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(
            max_features=self.max_features, ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            sublinear_tf=self.sublinear_tf, lowercase=self.lowercase, dtype=np.float32)
        self.vectorizer_.fit(list(samples))
        return self

    def transform(self, samples: Sequence[str]) -> np.ndarray:
        if self.vectorizer_ is None:
            raise RuntimeError("Tfidf.transform called before fit")
        return self.vectorizer_.transform(list(samples)).toarray().astype(np.float32)
