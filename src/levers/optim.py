"""Optimizer and scheduler wiring: what a `_target_` node alone cannot say (when and on what to step)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


def configure_optimization(
    optimizer: OptimizerFactory, scheduler: DictConfig, parameters: Iterable[torch.nn.Parameter]
) -> dict[str, Any]:
    """Lightning's `configure_optimizers` return value; interval/frequency/monitor come from the config."""
    built = optimizer(parameters)
    if scheduler.scheduler is None:
        return {"optimizer": built}
    return {
        "optimizer": built,
        "lr_scheduler": {
            "scheduler": instantiate(scheduler.scheduler, _convert_="all")(built),
            "interval": scheduler.interval,
            "frequency": scheduler.frequency,
            "monitor": scheduler.monitor,
        },
    }
