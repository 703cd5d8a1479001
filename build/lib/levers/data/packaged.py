"""Data sets that ship inside installed packages (no network at run time)."""

from __future__ import annotations

import gzip
import importlib
import importlib.util
from pathlib import Path

import numpy as np

from levers.errors import LeversConfigError


def statsmodels_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A statsmodels data set's exog (features) and endog (target), e.g. `randhie`."""
    try:
        module = importlib.import_module(f"statsmodels.datasets.{name}")
    except ModuleNotFoundError as missing:
        raise LeversConfigError("data.source.name", name, "an installed statsmodels data set") from missing
    dataset = module.load_pandas()
    return dataset.exog.to_numpy(dtype=np.float32), dataset.endog.to_numpy(dtype=np.float32)


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits, exactly what `load_digits(return_X_y=True)` returns, read with numpy.

    The default data set: importing sklearn costs about 0.45 s (it imports pandas), more than the rest of a
    default run's start-up beyond torch/Lightning/Hydra (issue 6), so the file is read without importing it.
    """
    sklearn = importlib.util.find_spec("sklearn")  # finds the installed package without importing it
    if sklearn is None or not sklearn.submodule_search_locations:
        raise LeversConfigError("data", "digits", "scikit-learn installed (it ships the digits file)")
    path = Path(sklearn.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    if not path.is_file():  # a scikit-learn that keeps the file elsewhere: its own loader, slower to import
        from sklearn.datasets import load_digits

        return load_digits(return_X_y=True)
    with gzip.open(path, mode="rt", encoding="utf-8") as rows:
        table = np.loadtxt(rows, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)
