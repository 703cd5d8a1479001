"""Packaged data sets read without their package's import cost still give the package's own arrays."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from levers.data.packaged import sklearn_digits


def test_digits_read_with_numpy_equal_sklearns_load_digits():
    features, target = sklearn_digits()
    expected_features, expected_target = load_digits(return_X_y=True)
    assert features.shape == (1797, 64)
    assert np.array_equal(features, expected_features)
    assert np.array_equal(target, expected_target)
