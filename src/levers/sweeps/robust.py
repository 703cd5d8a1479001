"""Axis limits one outlier cannot set: a diverged trial at 1e6 must not squeeze 49 healthy curves flat."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

SPREAD = 8.0  # median +- 8 scaled MADs: far enough to keep every ordinary job, near enough to drop a divergence


def robust_limits(values: Iterable[float], keep: Iterable[float] = ()) -> tuple[float, float]:
    """(low, high) for an axis: the range of the values within the median +- SPREAD robust standard deviations
    (1.4826 MAD), widened to hold every `keep` value (the best jobs), padded 5%. Median and MAD, not the 5-95%
    quantiles: with 4 jobs one outlier is a quarter of the data and would still set a quantile."""
    data = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if data.size == 0:
        return 0.0, 1.0
    median = float(np.median(data))
    scale = 1.4826 * float(np.median(np.abs(data - median)))
    if scale > 0:  # the fence, then shrunk to the values inside it: no empty space up to the fence
        data = data[np.abs(data - median) <= SPREAD * scale]
    low, high = float(data.min()), float(data.max())
    kept = [v for v in keep if math.isfinite(v)]
    if kept:
        low, high = min(low, *kept), max(high, *kept)
    pad = 0.05 * (high - low) if high > low else max(abs(high) * 0.05, 1e-9)
    return low - pad, high + pad


def outside(values: Iterable[float], limits: tuple[float, float]) -> list[int]:
    """Indices of the finite values off the axis."""
    low, high = limits
    return [i for i, v in enumerate(values) if math.isfinite(v) and not low <= v <= high]
