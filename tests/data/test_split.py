"""Seeded, stratified, disjoint splits."""

from __future__ import annotations

import numpy as np

from levers.data.split import split_indices


def test_splits_are_disjoint_and_cover_every_row():
    target = np.repeat(np.arange(4), 50)
    split = split_indices(target, 0.2, 0.2, seed=0, stratify=True)
    together = np.concatenate([split.train, split.val, split.test])
    assert sorted(together.tolist()) == list(range(200))
    assert (len(split.train), len(split.val), len(split.test)) == (120, 40, 40)


def test_stratified_split_keeps_class_proportions():
    target = np.array([0] * 180 + [1] * 20)
    split = split_indices(target, 0.25, 0.25, seed=1, stratify=True)
    for part in (split.val, split.test):
        assert np.mean(target[part]) == 0.1


def test_same_seed_same_split_and_other_seed_other_split():
    target = np.repeat(np.arange(3), 40)
    first, again = (split_indices(target, 0.2, 0.2, seed=5, stratify=True) for _ in range(2))
    other = split_indices(target, 0.2, 0.2, seed=6, stratify=True)
    assert np.array_equal(first.test, again.test) and np.array_equal(first.train, again.train)
    assert not np.array_equal(first.test, other.test)


def test_changing_val_fraction_does_not_move_the_test_set():
    target = np.repeat(np.arange(3), 40)
    small_val = split_indices(target, 0.1, 0.2, seed=5, stratify=True)
    large_val = split_indices(target, 0.3, 0.2, seed=5, stratify=True)
    assert np.array_equal(small_val.test, large_val.test)


def test_with_an_official_test_set_val_is_a_fraction_of_the_other_rows():
    target = np.tile(np.arange(5), 1020)  # 100 training rows before 5,000 official test rows
    split = split_indices(target, 0.1, 0.15, seed=0, stratify=True, holdout_last=5000)
    assert len(split.test) == 5000 and split.test.min() == 100
    assert len(split.val) == 10 and len(split.train) == 90
