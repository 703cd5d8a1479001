"""k-fold splits: folds partition the non-test rows, keep class proportions, and share the plain run's test set."""

from __future__ import annotations

import numpy as np
import pytest

from levers.data.folds import fold_indices
from levers.data.split import split_indices
from levers.errors import LeversConfigError

TARGET = np.array([0] * 60 + [1] * 30 + [2] * 30)


def test_validation_parts_of_the_k_folds_partition_the_non_test_rows():
    splits = [fold_indices(TARGET, 0.2, 3, fold, seed=0, stratify=True) for fold in range(3)]
    vals = np.concatenate([split.val for split in splits])
    rest = np.setdiff1d(np.arange(len(TARGET)), splits[0].test)
    assert sorted(vals.tolist()) == rest.tolist()
    for split in splits:
        assert not set(split.train) & set(split.val) and not set(split.train) & set(split.test)
        assert len(split.train) + len(split.val) == len(rest)


def test_folds_are_stratified_by_class():
    for fold in range(3):
        val = fold_indices(TARGET, 0.2, 3, fold, seed=0, stratify=True).val
        assert np.bincount(TARGET[val]).tolist() == [16, 8, 8]


def test_every_fold_tests_on_the_plain_runs_test_rows():
    plain = split_indices(TARGET, 0.15, 0.2, seed=4, stratify=True)
    assert all(np.array_equal(fold_indices(TARGET, 0.2, 3, f, 4, True).test, plain.test) for f in range(3))


def test_more_folds_than_the_smallest_class_is_a_config_error():
    target = np.array([0] * 20 + [1] * 3)
    with pytest.raises(LeversConfigError, match=r"data.folds=4 is not allowed: at most the smallest class's .* \(3\)"):
        fold_indices(target, 0.0, 4, 0, seed=0, stratify=True)


def test_fold_outside_zero_to_k_minus_one_is_a_config_error():
    with pytest.raises(LeversConfigError, match=r"data.fold=3 is not allowed: null \(every fold\) or 0..2"):
        fold_indices(TARGET, 0.2, 3, 3, seed=0, stratify=True)
