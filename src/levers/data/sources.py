"""Loading a data source (`data.source`, a `_target_` node) into checked numeric arrays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from levers.data.table import Columns, Table
from levers.errors import LeversConfigError


def load_source(source: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Call the source and check what it returns before anything reaches torch."""
    try:
        loaded = instantiate(source)
    except InstantiationException as error:  # surface our own one-line error, not Hydra's wrapper
        if isinstance(error.__cause__, LeversConfigError):
            raise error.__cause__ from None
        raise
    if isinstance(loaded, Table):  # columns are checked by the table loader and encoded after the split
        return loaded.features, loaded.target
    if not (isinstance(loaded, tuple) and len(loaded) == 2):
        raise LeversConfigError("data.source", source.get("_target_"), "a callable returning (features, target)")
    features, target = (np.asarray(part) for part in loaded)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2:
        raise LeversConfigError("data.source", f"features of shape {features.shape}", "a 2-D table")
    if features.dtype.kind not in "iufb":
        raise LeversConfigError("data.features", f"dtype {features.dtype}", "numeric columns")
    if len(features) != len(target):
        raise LeversConfigError("data.target", f"{len(target)} rows", f"as many rows as features ({len(features)})")
    features = features.astype(np.float32)
    if not np.isfinite(features).all():
        raise LeversConfigError("data.features", "NaN or infinite values", "finite numbers")
    if target.dtype.kind in "f" and not np.isfinite(target).all():
        raise LeversConfigError("data.target", "NaN or infinite values", "finite numbers")
    return features, target


def select_rows(
    features: np.ndarray,
    target: np.ndarray,
    classes: list[int] | None,
    limit: int | None,
    holdout_last: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Start simple, as the guide advises: a subset of classes (relabelled 0..k-1) and/or the first N rows.

    With `holdout_last` (a data set's official test rows at the end) the class filter applies to those rows too,
    but `limit` counts only the other rows, so the test set stays the official one. Returns the rows and how many
    of them are held out.
    """
    held_out = np.zeros(len(target), dtype=bool)
    if holdout_last:
        held_out[-holdout_last:] = True
    if classes is not None:
        present = set(np.unique(target).tolist())
        missing = [c for c in classes if c not in present]
        if missing:
            raise LeversConfigError("data.classes", list(classes), f"classes present in the data: {sorted(present)}")
        keep = np.isin(target, classes)
        features, target, held_out = _rows(features, keep), target[keep], held_out[keep]
        target = np.searchsorted(np.sort(np.asarray(classes)), target)
    if limit is not None:
        keep = held_out | (np.cumsum(~held_out) <= limit)
        features, target, held_out = _rows(features, keep), target[keep], held_out[keep]
    return features, target, int(held_out.sum()) if holdout_last else None


def _rows(features: np.ndarray | Columns, keep: np.ndarray) -> np.ndarray | Columns:
    """The kept rows; a table's columns only remember which (nothing is copied before encoding)."""
    return features.take(np.flatnonzero(keep)) if isinstance(features, Columns) else features[keep]
