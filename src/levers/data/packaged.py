"""Data sets that ship inside installed packages (no network at run time)."""

from __future__ import annotations

import importlib

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
