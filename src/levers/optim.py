"""Optimizer and scheduler wiring: what a `_target_` node alone cannot say (when and on what to step, and the
number of steps a schedule spans, which only the data and the Trainer know)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from hydra.utils import instantiate

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


@dataclass(frozen=True)
class Schedule:
    """The `scheduler` group as the module needs it: the partial torch scheduler node (None: a constant lr), and
    when Lightning steps it (`interval`, `frequency`) on what metric (`monitor`, reduce-on-plateau)."""

    scheduler: Mapping[str, Any] | None
    interval: str = "epoch"
    frequency: int = 1
    monitor: str = "val/loss"

    @classmethod
    def of(cls, group: Mapping[str, Any]) -> Schedule:
        node = group.get("scheduler")
        return cls(dict(node) if node is not None else None, group["interval"], group["frequency"], group["monitor"])


LEVERS_KEYS = ("backbone_lr_mult",)  # optimizer keys levers reads itself (LitModel's parameter groups)


def optimizer_factory(config: Mapping[str, Any], lr: float | None = None) -> OptimizerFactory:
    """The partial torch optimizer (with `lr` in place of the configured one when given); lists come through as
    plain lists so checkpoints load with weights_only."""
    torch_arguments = {key: config[key] for key in config if key not in LEVERS_KEYS}
    return instantiate(torch_arguments, _convert_="all", **({"lr": lr} if lr is not None else {}))


def configure_optimization(
    optimizer: OptimizerFactory,
    scheduler: Schedule,
    parameters: Iterable[torch.nn.Parameter],
    total_steps: int | None = None,
) -> dict[str, Any]:
    """Lightning's `configure_optimizers` return value; interval/frequency/monitor come from the config."""
    built = optimizer(parameters)
    for group in built.param_groups:  # a parameter group's own multiple of the lr (model=backbone's body)
        group["lr"] *= group.get("lr_mult", 1.0)
    if scheduler.scheduler is None:
        return {"optimizer": built}
    factory = instantiate(scheduler.scheduler, _convert_="all")
    if _wants_total_steps(factory):
        factory = functools.partial(factory, total_steps=_checked_total(total_steps))
    return {
        "optimizer": built,
        "lr_scheduler": {
            "scheduler": factory(built),
            "interval": scheduler.interval,
            "frequency": scheduler.frequency,
            "monitor": scheduler.monitor,
        },
    }


def _wants_total_steps(factory: functools.partial) -> bool:
    """Schedules that span the run (onecycle, cosine) take `total_steps` unless the config fixed it."""
    return "total_steps" in inspect.signature(factory.func).parameters and "total_steps" not in factory.keywords


def _checked_total(total_steps: float | None) -> int:
    if total_steps is None or not 0 < total_steps < float("inf"):
        raise ValueError("this scheduler spans the whole run: set trainer.max_epochs to a positive number")
    return int(total_steps)
