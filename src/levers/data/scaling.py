"""Feature scaling as an affine map x' = (x - offset) / scale, fitted on the train split only.

Every method the practice guide names is affine, so one module with two buffers covers them all; the buffers
travel in the checkpoint's state_dict (safe with ``torch.load(weights_only=True)``) and are reused at prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from levers.errors import LeversConfigError

FIT_BLOCK_BYTES = 64 * 1024**2  # float64 copy of the train split made at a time while fitting
SCALING_METHODS = ("standard", "minmax", "robust", "decimal", "none")


class AffineScaler(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("offset", torch.zeros(num_features))
        self.register_buffer("scale", torch.ones(num_features))

    def fit(self, features: torch.Tensor, method: str, untouched: Sequence[int] = ()) -> AffineScaler:
        """`untouched` columns (category codes an embedding looks up) keep offset 0 and scale 1."""
        if method not in SCALING_METHODS:
            raise LeversConfigError("scaling.method", method, f"one of {', '.join(SCALING_METHODS)}")
        offset, scale = _fit_by_blocks(_FITTERS[method], features)
        # A constant column has zero spread: leave it unscaled rather than divide by zero.
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        if len(untouched):
            kept = torch.as_tensor(list(untouched), dtype=torch.long)
            offset, scale = offset.clone(), scale.clone()
            offset[kept], scale[kept] = 0.0, 1.0
        self.offset.copy_(offset.float())
        self.scale.copy_(scale.float())
        return self

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.offset) / self.scale

    def scale_(self, features: torch.Tensor) -> torch.Tensor:
        """`forward` in place, for a matrix nobody else holds yet: no second copy of a large data set."""
        return features.sub_(self.offset).div_(self.scale)

    def inverse(self, scaled: torch.Tensor) -> torch.Tensor:
        return scaled * self.scale + self.offset


def _fit_by_blocks(fitter, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit on column blocks of at most FIT_BLOCK_BYTES in float64, not on a float64 copy of the whole train split.

    A table that fits in one block (every shipped data set) is fitted exactly as before, on all columns at once.
    """
    step = max(1, FIT_BLOCK_BYTES // max(1, 8 * features.shape[0]))
    if step >= features.shape[1]:
        return fitter(features.double())
    parts = [fitter(features[:, start : start + step].double()) for start in range(0, features.shape[1], step)]
    return torch.cat([offset for offset, _ in parts]), torch.cat([scale for _, scale in parts])


def _standard(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x.mean(0), x.std(0, correction=0)


def _minmax(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    low, high = x.min(0).values, x.max(0).values
    return low, high - low


def _robust(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    q1, median, q3 = torch.quantile(x, torch.tensor([0.25, 0.5, 0.75], dtype=x.dtype), dim=0)
    return median, q3 - q1


def _decimal(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Divide by the smallest power of ten that brings max |x| strictly below 1."""
    peak = x.abs().max(0).values
    exponent = torch.floor(torch.log10(peak.clamp_min(1e-12))) + 1
    return torch.zeros_like(peak), torch.where(peak > 0, 10.0**exponent, torch.ones_like(peak))


def _none(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.zeros(x.shape[1], dtype=x.dtype), torch.ones(x.shape[1], dtype=x.dtype)


_FITTERS = {"standard": _standard, "minmax": _minmax, "robust": _robust, "decimal": _decimal, "none": _none}
