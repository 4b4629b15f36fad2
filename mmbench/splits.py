"""Train/test splits: stratified by label, grouped when the dataset has groups, a function of the
seed (and fold) only; or the dataset's own predefined split.

- ``{"method": "stratified", "test_size": f}``: one split. Without groups, scikit-learn's
  ``train_test_split(stratify=y)``. With groups (rows sharing a group never straddle train and
  test), the test part is ``j`` of ``n`` folds of ``StratifiedGroupKFold`` (shuffled by the
  seed), ``n <= 20`` (more than 5 only with at least 5 groups a fold) and ``j`` chosen so ``j / n`` is closest to ``f`` (0.2 -> 1 of 5, 0.3 -> 3
  of 10, 0.25 -> 1 of 4).
- ``{"method": "kfold", "k": k}``: fold ``fold`` of ``StratifiedKFold`` (or, with groups,
  ``StratifiedGroupKFold``), shuffled by the seed.
- ``{"method": "predefined"}``: the dataset's own test rows (``MultimodalData.predefined_test``)
  against all the others, the same for every seed.

:func:`check_splits` computes every split a suite asks for and refuses, naming the class, one
that cannot work (a class with too few samples or groups, a test part that leaves a class out).
:func:`inner_splits` is the same machinery for a split inside a training part (tuning).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import UserError

#: (train indices, test indices), sorted.
Split = tuple[np.ndarray, np.ndarray]
#: The most folds a grouped stratified split uses to approximate ``test_size``.
MAX_GROUP_FOLDS = 20


class SplitError(UserError):
    """A split the data cannot give (too few samples or groups in a class, no predefined
    split); the message names the class and says what to change."""


def group_fraction(test_size: float, n_groups: int) -> tuple[int, int]:
    """(j, n): the test part of a grouped stratified split is ``j`` of ``n`` folds, ``2 <= n <=
    20``, and at most a fifth of the groups beyond 5 folds (at least 5 groups a fold), ``j / n`` closest to ``test_size`` (the fewest folds on a tie)."""
    best = (1, 2)
    for n in range(2, max(2, min(MAX_GROUP_FOLDS, max(n_groups // 5, min(n_groups, 5)))) + 1):
        j = min(n - 1, max(1, int(round(test_size * n))))
        if abs(j / n - test_size) < abs(best[0] / best[1] - test_size) - 1e-9:
            best = (j, n)
    return best


def split_indices(y: np.ndarray, split: Mapping[str, Any], seed: int,
                  groups: np.ndarray | None = None,
                  predefined_test: np.ndarray | None = None) -> list[Split]:
    """Every (train, test) pair of ``split`` for ``seed``: one for ``stratified`` and
    ``predefined``, ``k`` for ``kfold``. Indices into ``y``. Raises :class:`SplitError` when
    scikit-learn cannot split ``y`` so (see :func:`check_splits` for a message by class)."""
    from sklearn.model_selection import (StratifiedGroupKFold, StratifiedKFold,
                                         train_test_split)

    y = np.asarray(y)
    index = np.arange(len(y))
    method = split.get("method", "stratified")
    if method == "predefined":
        if predefined_test is None:
            raise SplitError("the dataset has no predefined test split")
        test = np.asarray(predefined_test, dtype=bool)
        return [(index[~test], index[test])]
    try:
        with warnings.catch_warnings():  # too few members per class: check_splits says which
            warnings.simplefilter("ignore", UserWarning)
            if method == "kfold":
                k = int(split["k"])
                if groups is None:
                    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
                    parts = list(folds.split(index, y))
                else:
                    grouped = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
                    parts = list(grouped.split(index, y, groups))
                return [(np.sort(tr), np.sort(te)) for tr, te in parts]
            test_size = float(split.get("test_size", 0.2))
            if groups is None:
                train, test = train_test_split(index, test_size=test_size, stratify=y,
                                               random_state=seed)
                return [(np.sort(train), np.sort(test))]
            j, n = group_fraction(test_size, len(np.unique(groups)))
            grouped = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
            tests = [te for _, te in list(grouped.split(index, y, groups))[:j]]
    except ValueError as exc:
        raise SplitError(f"cannot split: {exc}") from exc
    test = np.sort(np.concatenate(tests))
    return [(np.setdiff1d(index, test), test)]


def make_split(y: np.ndarray, split: Mapping[str, Any], seed: int, fold: int = 0, *,
               groups: np.ndarray | None = None,
               predefined_test: np.ndarray | None = None) -> Split:
    """(train_index, test_index) of fold ``fold`` of ``split`` (see the module docstring)."""
    return split_indices(y, split, seed, groups, predefined_test)[fold]


def inner_splits(y: np.ndarray, groups: np.ndarray | None, spec: Mapping[str, Any],
                 seed: int, class_names: Sequence[str] | None = None) -> list[Split]:
    """The (train, validation) pairs of ``spec`` (``{"method": "stratified", "test_size": f}``
    or ``{"method": "kfold", "k": k}``) inside one training part: ``y`` and ``groups`` are that
    part's labels and groups (``data.y[train]``, ``data.groups[train]`` or None), the indices
    returned are positions in them (map back with ``train[inner]``). Rows of one group stay on
    one side; every class present in ``y`` is on both sides of every pair, else a
    :class:`SplitError` naming the class."""
    y = np.asarray(y)
    present = np.unique(y)
    names = list(class_names) if class_names is not None else [
        str(c) for c in range(int(present.max()) + 1 if len(present) else 0)]
    remap = np.searchsorted(present, y)  # classes absent from this part are not asked for
    splits = check_splits(remap, [names[c] for c in present], spec, [seed], groups, None)
    return [splits[(seed, f)] for f in range(_n_folds(spec))]


def _n_folds(split: Mapping[str, Any]) -> int:
    return int(split["k"]) if split.get("method") == "kfold" else 1


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _counts_problem(y: np.ndarray, class_names: Sequence[str], split: Mapping[str, Any],
                    groups: np.ndarray | None) -> str | None:
    """The first class (or the whole dataset) too small for ``split``, before splitting."""
    method = split.get("method", "stratified")
    need = int(split["k"]) if method == "kfold" else 2
    what = (f"a stratified {need}-fold split needs at least {need} (one per test fold)"
            if method == "kfold" else
            "a stratified split needs at least 2 (one to train on, one to test)")
    counts = np.bincount(y, minlength=len(class_names))
    for c in np.argsort(counts, kind="stable"):
        if 0 < counts[c] < need:
            fix = "lower k or " if method == "kfold" else ""
            return (f"class {class_names[c]!r} has {_plural(int(counts[c]), 'sample')}; {what}: "
                    f"{fix}give the class more samples (or leave it out of the dataset)")
    if groups is None:
        if method != "kfold":
            n, n_classes = len(y), int((counts > 0).sum())
            n_test = int(np.ceil(float(split.get("test_size", 0.2)) * n))
            if n_test < n_classes or n - n_test < n_classes:
                side = "test" if n_test < n_classes else "training"
                return (f"test_size = {split.get('test_size', 0.2)} leaves "
                        f"{_plural(n_test if side == 'test' else n - n_test, side + ' sample')} "
                        f"for {n_classes} classes, so some class gets no {side} sample: "
                        f"{'raise' if side == 'test' else 'lower'} test_size (to about "
                        f"{max(n_classes / n, 0.01) if side == 'test' else 1 - n_classes / n:.2f})")
        return None
    n_groups = len(np.unique(groups))
    if n_groups < need:
        return (f"the dataset has {_plural(n_groups, 'group')}; a grouped "
                f"{f'{need}-fold' if method == 'kfold' else 'train/test'} split needs at least "
                f"{need} (rows of one group stay on one side)")
    for c in np.argsort(counts, kind="stable"):
        mine = len(np.unique(groups[y == c]))
        if counts[c] and mine < need:
            return (f"class {class_names[c]!r} appears in {_plural(mine, 'group')} "
                    f"({_plural(int(counts[c]), 'sample')}); a grouped "
                    f"{f'{need}-fold' if method == 'kfold' else 'train/test'} split needs it "
                    f"in at least {need} (rows of one group stay on one side): give the class "
                    f"more groups{' or lower k' if method == 'kfold' else ''}")
    return None


def check_splits(y: np.ndarray, class_names: Sequence[str], split: Mapping[str, Any],
                 seeds: Iterable[int], groups: np.ndarray | None = None,
                 predefined_test: np.ndarray | None = None) -> dict[tuple[int, int], Split]:
    """Every split ``split`` gives for ``seeds``, by (seed, fold); a :class:`SplitError` naming
    the class when one cannot work: a class with fewer samples (or, with groups, groups) than
    the split needs, a class left without training or test samples, too few groups for k
    folds, no predefined split or an empty side of it."""
    y = np.asarray(y)
    method = split.get("method", "stratified")
    if method == "predefined":
        if predefined_test is None:
            raise SplitError('split = { method = "predefined" } but the dataset has no '
                             'predefined test split; use method = "stratified" or "kfold" (or '
                             'a dataset with its own train/test, e.g. a table\'s split_column)')
        test = np.asarray(predefined_test, dtype=bool)
        if test.all() or not test.any():
            side = "training" if test.all() else "test"
            raise SplitError(f"the dataset's predefined split has no {side} rows (all "
                             f"{len(test)} rows are {'test' if test.all() else 'training'} "
                             f"rows); use method = \"stratified\" or \"kfold\"")
        if groups is not None:
            both = np.intersect1d(groups[test], groups[~test])
            if len(both):
                g = both[0]
                n_test, n_all = int((test & (groups == g)).sum()), int((groups == g).sum())
                raise SplitError(f"group {g} has rows on both sides of the predefined split "
                                 f"({n_test} of its {n_all} rows are test rows; "
                                 f"{len(both)} group(s) straddle it): rows of one group must "
                                 f"stay on one side, so fix the split or the group column")
        return {(seed, 0): split_indices(y, split, seed, groups, test)[0] for seed in seeds}
    problem = _counts_problem(y, class_names, split, groups)
    if problem:
        raise SplitError(problem)
    out: dict[tuple[int, int], Split] = {}
    present = np.flatnonzero(np.bincount(y, minlength=len(class_names)))
    for seed in seeds:
        for fold, (train, test) in enumerate(split_indices(y, split, seed, groups)):
            for side, rows in (("test", test), ("training", train)):
                absent = np.setdiff1d(present, y[rows])
                if len(absent):
                    raise SplitError(_absent(class_names[absent[0]], y, int(absent[0]), side,
                                             split, seed, fold, groups))
            out[(seed, fold)] = (train, test)
    return out


def _absent(name: str, y: np.ndarray, c: int, side: str, split: Mapping[str, Any], seed: int,
            fold: int, groups: np.ndarray | None) -> str:
    n = int((y == c).sum())
    where = f"seed {seed}" + (f", fold {fold}" if split.get("method") == "kfold" else "")
    has = _plural(n, "sample") + (
        f" in {_plural(len(np.unique(groups[y == c])), 'group')}" if groups is not None else "")
    if split.get("method") == "kfold":
        fix = "lower k or give the class more samples"
    else:
        fix = (f"{'raise' if side == 'test' else 'lower'} test_size (now "
               f"{split.get('test_size', 0.2)}) or give the class more samples")
    return f"class {name!r} ({has}) gets no {side} sample ({where}): {fix}"


def split_label(split: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """``kfold(k=5)``, ``stratified(test_size=0.2)``, ``predefined``."""
    spec = dict(split)
    method = spec.get("method", "stratified")
    arg = {"kfold": "k", "stratified": "test_size"}.get(method)
    return f"{method}({arg}={spec[arg]})" if arg in spec else method


def dataset_splits(data: Any, wanted: Iterable[tuple[tuple[tuple[str, Any], ...], int]],
                   label: str) -> dict[tuple[Any, ...], Split]:
    """Every split of ``data`` (a :class:`~mmbench.protocols.MultimodalData`) that ``wanted``
    ((frozen split spec, seed) pairs, as cells hold them) asks for, by (split, seed, fold),
    checked by :func:`check_splits`; a :class:`SplitError` names the dataset ``label``, the
    split and the class."""
    seeds: dict[tuple[tuple[str, Any], ...], set[int]] = {}
    for split, seed in wanted:
        seeds.setdefault(split, set()).add(seed)
    out: dict[tuple[Any, ...], Split] = {}
    for split, chosen in seeds.items():
        try:
            found = check_splits(data.y, data.class_names, dict(split), sorted(chosen),
                                 data.groups, data.predefined_test)
        except SplitError as exc:
            raise SplitError(f"dataset {label}, split {split_label(split)}: {exc}") from exc
        out.update({(split, *key): value for key, value in found.items()})
    return out


def imbalance_train(train: np.ndarray, y: np.ndarray, ratio: float, seed: int) -> np.ndarray:
    """Subsample ``train`` (indices into ``y``) so class ``k`` of ``K`` keeps
    ``n_max * ratio ** (-k / (K - 1))`` samples (at least 1): sizes decay geometrically from the
    largest class size for class 0 to ``n_max / ratio`` for the last class. Seeded by ``seed``;
    the test split is left as it is."""
    train = np.asarray(train)
    classes = np.unique(y[train])
    if len(classes) < 2:
        return train
    n_max = max(int(np.sum(y[train] == c)) for c in classes)
    rng = np.random.default_rng([seed, 7919])
    keep = []
    for k, c in enumerate(classes):
        members = train[y[train] == c]
        target = max(1, int(round(n_max * ratio ** (-k / (len(classes) - 1)))))
        keep.append(rng.choice(members, size=min(target, len(members)), replace=False))
    return np.sort(np.concatenate(keep))
