"""Learning-rate schedules that torch does not ship as one class (practice guide, section 5).

Everything else in conf/scheduler/ is a torch scheduler named by `_target_`.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler


class InverseTimeLR(LRScheduler):
    """lr_t = lr_0 / (1 + decay * t): the provably convergent 1/t decay."""

    def __init__(self, optimizer: torch.optim.Optimizer, decay: float, last_epoch: int = -1) -> None:
        self.decay = decay
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base / (1.0 + self.decay * self.last_epoch) for base in self.base_lrs]


class WarmupCosine:
    """Multiplier: linear from ~0 to 1 over `warmup_steps`, then cosine from 1 down to `min_factor`.

    A callable object rather than a closure so that LambdaLR's state_dict can save it.
    """

    def __init__(self, warmup_steps: int, total_steps: int, min_factor: float) -> None:
        self.warmup_steps, self.total_steps, self.min_factor = warmup_steps, total_steps, min_factor

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float = 0.05, min_factor: float = 0.0
) -> LambdaLR:
    """Cosine annealing over the whole run after a linear warmup; `total_steps` is filled in from the data."""
    warmup = max(1, round(warmup_fraction * total_steps))
    return LambdaLR(optimizer, WarmupCosine(warmup, total_steps, min_factor))
