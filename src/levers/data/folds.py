"""k-fold cross-validation splits (`data.folds=k`, `data.fold=i`).

The test split is carved out exactly as in a plain run (same rows for the same seed), so every fold is tested on
the same held-out rows; the rest is cut into k folds, stratified by class for classification. Fold i validates on
part i and trains on the other k-1 parts; `data.val_fraction` plays no part.
"""

from __future__ import annotations

import numpy as np

from levers.config.schema.data import DataConfig
from levers.data.split import SplitIndices, split_indices
from levers.errors import LeversConfigError


def split_for(
    target: np.ndarray, data: DataConfig, seed: int, stratify: bool, held_out: int | None = None
) -> SplitIndices:
    """The plain train/val/test split, or fold `data.fold` (default 0) of `data.folds` when k > 1.

    `held_out`: how many rows at the end are the official test set (after class filtering and `limit`).
    """
    if data.folds <= 1:
        return split_indices(
            target, data.val_fraction, data.test_fraction, seed, stratify=stratify, holdout_last=held_out
        )
    return fold_indices(target, data.test_fraction, data.folds, data.fold or 0, seed, stratify, held_out)


def fold_indices(
    target: np.ndarray,
    test_fraction: float,
    folds: int,
    fold: int,
    seed: int,
    stratify: bool,
    holdout_last: int | None = None,
) -> SplitIndices:
    if not 0 <= fold < folds:
        raise LeversConfigError("data.fold", fold, f"null (every fold) or 0..{folds - 1} with data.folds={folds}")
    rest = split_indices(target, 0.0, test_fraction, seed, stratify=stratify, holdout_last=holdout_last)
    labels = target[rest.train]
    _check_fold_count(folds, labels, stratify)
    from sklearn.model_selection import KFold, StratifiedKFold  # only for k-fold runs: sklearn costs ~0.45 s

    splitter = (
        StratifiedKFold(folds, shuffle=True, random_state=seed)
        if stratify
        else KFold(folds, shuffle=True, random_state=seed)
    )
    train, val = list(splitter.split(rest.train, labels))[fold]
    return SplitIndices(train=np.sort(rest.train[train]), val=np.sort(rest.train[val]), test=rest.test)


def _check_fold_count(folds: int, labels: np.ndarray, stratify: bool) -> None:
    smallest = int(np.unique(labels, return_counts=True)[1].min()) if stratify else len(labels)
    if folds > smallest:
        what = "the smallest class's rows outside the test split" if stratify else "the rows outside the test split"
        raise LeversConfigError("data.folds", folds, f"at most {what} ({smallest})")
