"""scikit-learn's `train_test_split(rows, test_size=f, random_state=seed, stratify=labels)` in numpy only.

Every run splits its data, and importing sklearn costs about 0.45 s on this machine (it imports pandas and
pyarrow), more than the whole rest of a digits run's start-up beyond torch/Lightning/Hydra (issue 6). This module
reproduces sklearn 1.x's ShuffleSplit / StratifiedShuffleSplit draw for draw (same RandomState calls in the same
order), so a seed gives the same rows as before; tests/data/test_shuffle_split.py checks it against sklearn.
Impossible splits raise ValueError like sklearn's do.
"""

from __future__ import annotations

import math

import numpy as np


def shuffle_split(
    rows: np.ndarray, fraction: float, seed: int, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(kept rows, carved-out rows), both in sklearn's shuffled order; stratified by `labels` when given."""
    n_test = _test_count(len(rows), fraction)
    n_train = len(rows) - n_test
    rng = np.random.RandomState(seed)
    if labels is None:
        order = rng.permutation(len(rows))
        return rows[order[n_test:]], rows[order[:n_test]]
    train, test = _stratified(np.asarray(labels), n_train, n_test, rng)
    return rows[train], rows[test]


def _test_count(n_rows: int, fraction: float) -> int:
    if not 0 < fraction < 1:
        raise ValueError(f"test_size={fraction} should be a float in the (0, 1) range")
    n_test = math.ceil(fraction * n_rows)
    if n_rows - n_test == 0:
        raise ValueError(f"With n_samples={n_rows} and test_size={fraction}, the resulting train set will be empty")
    return n_test


def _stratified(
    labels: np.ndarray, n_train: int, n_test: int, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    classes, label_index, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        raise ValueError(f"classes with fewer than 2 members cannot be stratified: {classes[class_counts < 2]}")
    for name, count in (("train", n_train), ("test", n_test)):
        if count < len(classes):
            raise ValueError(f"the {name} part ({count} rows) is smaller than the number of classes ({len(classes)})")
    per_class = np.split(np.argsort(label_index, kind="stable"), np.cumsum(class_counts)[:-1])
    train_counts = _approximate_mode(class_counts, n_train, rng)
    test_counts = _approximate_mode(class_counts - train_counts, n_test, rng)
    train: list[int] = []
    test: list[int] = []
    for members, n_i, t_i in zip(per_class, train_counts, test_counts, strict=True):
        shuffled = members.take(rng.permutation(len(members)), mode="clip")
        train.extend(shuffled[:n_i])
        test.extend(shuffled[n_i : n_i + t_i])
    return rng.permutation(train), rng.permutation(test)


def _approximate_mode(class_counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """Rows per class in proportion to its size; leftover rows go to the largest remainders, ties drawn at random."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add_now = min(len(tied), need_to_add)
            floored[rng.choice(tied, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
