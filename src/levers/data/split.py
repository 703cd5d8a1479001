"""Seeded train/val/test split, stratified by class for classification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from levers.data.shuffle_split import shuffle_split
from levers.errors import LeversConfigError


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_indices(
    target: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    stratify: bool,
    holdout_last: int | None = None,
) -> SplitIndices:
    """Test is carved out first, then val from the rest, so changing val_fraction never moves the test set.

    `holdout_last` keeps a data set's official test set: the last N rows, in place of `test_fraction`; then
    `val_fraction` is of the other rows (so `data.limit=100` on Fashion-MNIST validates on 10 of its 100 rows).
    Without it, fractions are of the whole data set.
    """
    indices = np.arange(len(target))
    labels = target if stratify else None
    if holdout_last:
        rest, test = indices[:-holdout_last], indices[-holdout_last:]
        val_of_rest = val_fraction
    else:
        rest, test = _carve(indices, labels, test_fraction, seed)
        val_of_rest = val_fraction / (1.0 - test_fraction) if test_fraction < 1 else 0.0
    labels_rest = target[rest] if stratify else None
    train, val = _carve(rest, labels_rest, val_of_rest, seed + 1)
    return SplitIndices(train=np.sort(train), val=np.sort(val), test=np.sort(test))


def _carve(indices: np.ndarray, labels: np.ndarray | None, fraction: float, seed: int):
    if fraction <= 0:
        return indices, indices[:0]
    try:
        return shuffle_split(indices, fraction, seed, labels)  # sklearn's train_test_split, without importing sklearn
    except ValueError as error:  # e.g. a stratified split smaller than the number of classes
        raise LeversConfigError(
            "data.val_fraction / data.test_fraction",
            fraction,
            f"a split the {len(indices)} rows can give ({error}); "
            "use larger fractions, more data or data.stratify=false",
        ) from None
