"""Loading one of a run's datasets: the plugin's ``load()``, the load-time checks, every split
its cells ask for (computed and checked before anything is featurized) and the leakage audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.markup import escape

from .errors import DataError, UserError
from .featurize import instantiate
from .loading import check_data
from .modalities import check_loaded
from .plan import Cell, Variant
from .protocols import MultimodalData
from .readonly import freeze_data
from .splits import dataset_splits, split_label

#: (split, seed, fold) -> (train rows, test rows)
Splits = dict[tuple[Any, ...], tuple[np.ndarray, np.ndarray]]


def load_dataset(variant: Variant, cells: list[Cell], catalog: Any, reporter: Any, cost: Any,
                 results: Path) -> tuple[MultimodalData, Splits, dict[str, Any] | None]:
    """The dataset of ``variant`` (read-only), its splits, and its leakage audit when it must
    be written (redone when the data or the splits change; None when the stored one holds)."""
    from .audit import audit_report

    entry = catalog["dataset"].get(variant.name)
    dataset = instantiate(entry, variant, {})
    reporter.log(escape(f"loading dataset {variant.label}"))
    with cost.timed("loading data"):
        try:
            data = freeze_data(dataset.load())  # read-only: no plugin changes it for others
        except DataError as exc:  # rows that disagree in length, from MultimodalData
            raise DataError(f"dataset {variant.label!r}: {exc}") from None
    check_data(data, variant.label)  # labels, texts, image arrays, row counts
    check_loaded(data, cells, catalog, variant.label)
    splits = dataset_splits(data, [(c.split, c.seed) for c in cells], variant.label)
    with cost.timed("leakage audit"):
        report = audit_report(results, variant.label, data, dataset, {
            f"{split_label(k[0])} seed={k[1]} fold={k[2]}": v for k, v in splits.items()})
    return data, splits, report


def inner_problem_line(cells: list[Cell], data: MultimodalData, splits: Splits, suite: Any,
                       loaded: Any) -> None:
    """Refuse (a :class:`UserError`) a tuned cell whose inner split cannot be drawn."""
    from .tuning import inner_problem

    problem = inner_problem(cells, data, splits, suite.imbalance)
    if problem:
        where = loaded.locate(("inner",)) if suite.inner else "inner"
        raise UserError(f"{loaded.path}: {where}: {problem}")
