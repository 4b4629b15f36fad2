"""Tabular features: numeric columns imputed with the training median (plus missing
indicators) and standardized, string columns one-hot encoded; fitted on the training split."""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np

from mmbench.errors import UserError


def _table(samples: Any) -> Any:
    """``samples`` as a DataFrame (a 2-d array gets columns ``x0, x1, ...``)."""
    import pandas as pd

    if isinstance(samples, pd.DataFrame):
        return samples
    array = np.asarray(samples)
    if array.ndim != 2:
        raise UserError(f"numeric: expected a table (pandas DataFrame) or a 2-d array, got "
                        f"{type(samples).__name__} of shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


class Numeric:
    """Tabular columns as features (scikit-learn): numeric and boolean columns get missing
    values replaced by the training split's median, a 0/1 indicator per column that had missing
    values in training, and are standardized (training mean and std); string and categorical
    columns are one-hot encoded (missing cells as their own category, categories unseen in
    training as all zeros, at most ``max_categories`` per column, the rarer ones pooled).

    :param modality: the tabular modality to read (any numeric-kind modality).
    :param columns: only these columns (default: all).
    :param max_categories: one-hot columns per string column, at most.
    """

    modality = "tabular"
    kind = "numeric"
    version = "1"
    fits_on_train = True

    def __init__(self, *, modality: str = "tabular", columns: list[str] | None = None,
                 max_categories: int = 50) -> None:
        if not isinstance(modality, str) or not modality:
            raise ValueError(f"modality must be a modality name, got {modality!r}")
        if columns is not None and (not isinstance(columns, list) or not columns or not all(
                isinstance(c, str) for c in columns)):
            raise ValueError(f"columns must be a non-empty list of column names, got "
                             f"{columns!r}")
        if isinstance(max_categories, bool) or not isinstance(max_categories, int) or (
                max_categories < 2):
            raise ValueError(f"max_categories must be an integer >= 2, got {max_categories!r}")
        self.modality = modality
        self.columns = columns
        self.max_categories = max_categories
        self.transformer_: Any = None

    def _select(self, table: Any) -> Any:
        if self.columns is None:
            return table
        have = [str(c) for c in table.columns]
        for c in self.columns:
            if c not in have:
                close = difflib.get_close_matches(c, have, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UserError(f"numeric: column {c!r} is not in modality {self.modality!r} "
                                f"(its columns: {', '.join(have)}){hint}")
        return table[self.columns]

    def fit(self, samples: Any) -> Numeric:
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import MissingIndicator, SimpleImputer
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        table = self._select(_table(samples))
        numeric = [c for c in table.columns if table[c].dtype.kind in "biuf"]
        other = [c for c in table.columns if c not in numeric]
        bad = [c for c in other if table[c].dtype.kind in "mM"]
        if bad:
            raise UserError(f"numeric: column {bad[0]!r} holds dates/times "
                            f"({table[bad[0]].dtype}); convert it to a number (e.g. days "
                            f"since a date) or leave it out with columns = [...]")
        parts = []
        if numeric:
            values = make_union(
                make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                              StandardScaler()),
                MissingIndicator(features="missing-only", error_on_new=False))
            parts.append(("numeric", values, numeric))
        if other:
            onehot = make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="infrequent_if_exist",
                              max_categories=self.max_categories, sparse_output=False))
            parts.append(("strings", onehot, other))
        if not parts:
            raise UserError(f"numeric: modality {self.modality!r} has no columns")
        self.transformer_ = ColumnTransformer(parts, sparse_threshold=0.0)
        self.transformer_.fit(self._prepare(table, other))
        self.strings_ = other
        return self

    @staticmethod
    def _prepare(table: Any, strings: list[str]) -> Any:
        """String columns as ``str`` with missing cells as NaN (the imputer's missing value)."""
        if not strings:
            return table
        import pandas as pd

        out = table.copy()
        for c in strings:
            out[c] = pd.Series([np.nan if pd.isna(v) else str(v) for v in out[c]],
                               index=out.index, dtype=object)
        return out

    def transform(self, samples: Any) -> np.ndarray:
        if self.transformer_ is None:
            raise RuntimeError("Numeric.transform called before fit")
        table = self._select(_table(samples))
        x = self.transformer_.transform(self._prepare(table, self.strings_))
        return np.asarray(x, dtype=np.float32)
