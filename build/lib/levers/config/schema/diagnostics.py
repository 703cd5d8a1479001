"""Schemas of the `diagnostics` group: settings of `mode=lr_find | overfit | gradcheck` and `optimizer.lr=auto`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODES = ("train", "lr_find", "overfit", "gradcheck")
LR_SUGGESTIONS = ("half_divergence", "steepest")


@dataclass
class LRFindConfig:
    """Leslie Smith's range test: the lr grows exponentially from min_lr to max_lr over num_steps batches."""

    min_lr: float = 1e-6
    max_lr: float = 10.0
    num_steps: int = 100
    smoothing: float = 0.8  # EMA factor of the plotted loss (0 = raw)
    divergence_factor: float = 4.0  # diverged once the smoothed loss exceeds this multiple of its best
    suggestion: str = "steepest"  # what optimizer.lr=auto trains with: steepest | half_divergence


@dataclass
class OverfitConfig:
    """A few fixed training batches, regularization off: a healthy model must drive their loss to ~0."""

    batches: int = 2
    max_epochs: int = 150
    loss_factor: float = 20.0  # PASS needs final loss <= initial loss / loss_factor
    min_acc: float = 0.99  # ... and (classification) this accuracy on the fixed batches


@dataclass
class GradcheckConfig:
    """Central finite differences in float64 against autograd, on a tiny batch."""

    batch_size: int = 4
    samples_per_tensor: int = 8  # coordinates checked per parameter tensor (plus one random direction)
    eps: float = 1e-6
    tolerance: float = 1e-4  # max relative error allowed


@dataclass
class DiagnosticsConfig:
    lr_find: LRFindConfig = field(default_factory=LRFindConfig)
    overfit: OverfitConfig = field(default_factory=OverfitConfig)
    gradcheck: GradcheckConfig = field(default_factory=GradcheckConfig)


OPTIONS: dict[str, dict[str, Any]] = {"diagnostics": {"diagnostics": DiagnosticsConfig}}
