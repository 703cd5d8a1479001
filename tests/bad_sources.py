"""Data sources with planted defects, named by `data.source._target_` in tests (arguments ignored)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_wine


def _wine() -> tuple[np.ndarray, np.ndarray]:
    features, target = load_wine(return_X_y=True)
    return features.astype(np.float64), target


def nan_in_features(**_: object) -> tuple[np.ndarray, np.ndarray]:
    features, target = _wine()
    features[5, 2] = np.nan
    return features, target


def inf_in_features(**_: object) -> tuple[np.ndarray, np.ndarray]:
    features, target = _wine()
    features[7, 0] = np.inf
    return features, target


def nan_in_target(**_: object) -> tuple[np.ndarray, np.ndarray]:
    features, target = _wine()
    target = target.astype(np.float64)
    target[3] = np.nan
    return features, target


def text_features(**_: object) -> tuple[np.ndarray, np.ndarray]:
    features, target = _wine()
    return features.astype(str), target


def not_a_pair(**_: object) -> np.ndarray:
    return _wine()[0]
