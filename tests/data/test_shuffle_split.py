"""The numpy split gives exactly the rows sklearn's train_test_split gives (so seeds keep their meaning)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from levers.data.shuffle_split import shuffle_split

LABELS = {
    "balanced": np.repeat(np.arange(4), 25),
    "skewed": np.array([0] * 83 + [1] * 11 + [2] * 3 + [3] * 2),  # ties and tiny classes exercise the tie-breaks
    "text": np.array(list("abcab") * 13),
}


@pytest.mark.parametrize("name", sorted(LABELS))
@pytest.mark.parametrize("fraction", [0.1, 0.2, 1 / 3, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 42, 43])
def test_stratified_split_equals_sklearns(name, fraction, seed):
    labels = LABELS[name]
    rows = np.arange(100, 100 + len(labels))
    expected = train_test_split(rows, test_size=fraction, random_state=seed, stratify=labels)
    got = shuffle_split(rows, fraction, seed, labels)
    assert [part.tolist() for part in got] == [part.tolist() for part in expected]


@pytest.mark.parametrize("n_rows", [2, 7, 150, 1797])
@pytest.mark.parametrize("seed", [0, 5])
def test_plain_split_equals_sklearns(n_rows, seed):
    rows = np.arange(n_rows)[::-1].copy()
    expected = train_test_split(rows, test_size=0.25, random_state=seed)
    got = shuffle_split(rows, 0.25, seed)
    assert [part.tolist() for part in got] == [part.tolist() for part in expected]


@pytest.mark.parametrize(
    ("labels", "fraction"),
    [
        (np.array([0, 0, 0, 1]), 0.5),  # a class with one member
        (np.repeat(np.arange(5), 4), 0.1),  # fewer test rows than classes
        (np.repeat(np.arange(5), 4), 0.9),  # fewer train rows than classes
        (None, 1.0),  # nothing left to train on
    ],
)
def test_impossible_split_raises_valueerror_like_sklearn(labels, fraction):
    rows = np.arange(4 if labels is None else len(labels))
    with pytest.raises(ValueError):
        train_test_split(rows, test_size=fraction, random_state=0, stratify=labels)
    with pytest.raises(ValueError):
        shuffle_split(rows, fraction, 0, labels)
