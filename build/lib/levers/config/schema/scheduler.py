"""Schemas of the `scheduler` group: a partial `_target_` node plus when Lightning steps it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SchedulerConfig:
    scheduler: Any = None  # a partial `_target_` node, or null for a constant lr
    interval: str = "epoch"  # epoch | step: when Lightning steps the scheduler
    frequency: int = 1
    monitor: str = "${monitor}"  # what reduce-on-plateau watches


@dataclass
class PlateauNode:
    _target_: str = "torch.optim.lr_scheduler.ReduceLROnPlateau"
    _partial_: bool = True
    mode: str = "${monitor_mode}"
    factor: float = 0.5
    patience: int = 5
    threshold: float = 1e-4
    min_lr: float = 1e-6


@dataclass
class StepNode:
    _target_: str = "torch.optim.lr_scheduler.StepLR"
    _partial_: bool = True
    step_size: int = 30
    gamma: float = 0.1


@dataclass
class ExponentialNode:
    _target_: str = "torch.optim.lr_scheduler.ExponentialLR"
    _partial_: bool = True
    gamma: float = 0.97


@dataclass
class InverseTimeNode:
    _target_: str = "levers.schedulers.InverseTimeLR"
    _partial_: bool = True
    decay: float = 0.1


@dataclass
class CosineNode:
    _target_: str = "levers.schedulers.warmup_cosine"
    _partial_: bool = True
    warmup_fraction: float = 0.05
    min_factor: float = 0.0


@dataclass
class OneCycleNode:
    _target_: str = "torch.optim.lr_scheduler.OneCycleLR"
    _partial_: bool = True
    max_lr: float = 1e-2
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    cycle_momentum: bool = True
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    div_factor: float = 25.0
    final_div_factor: float = 1e4


@dataclass
class CyclicNode:
    _target_: str = "torch.optim.lr_scheduler.CyclicLR"
    _partial_: bool = True
    base_lr: float = 1e-4
    max_lr: float = 1e-2
    step_size_up: int = 200
    mode: str = "triangular"
    cycle_momentum: bool = False


@dataclass
class PlateauConfig(SchedulerConfig):
    scheduler: PlateauNode = field(default_factory=PlateauNode)


@dataclass
class StepConfig(SchedulerConfig):
    scheduler: StepNode = field(default_factory=StepNode)


@dataclass
class ExponentialConfig(SchedulerConfig):
    scheduler: ExponentialNode = field(default_factory=ExponentialNode)


@dataclass
class InverseTimeConfig(SchedulerConfig):
    scheduler: InverseTimeNode = field(default_factory=InverseTimeNode)


@dataclass
class CosineConfig(SchedulerConfig):
    scheduler: CosineNode = field(default_factory=CosineNode)
    interval: str = "step"


@dataclass
class OneCycleConfig(SchedulerConfig):
    scheduler: OneCycleNode = field(default_factory=OneCycleNode)
    interval: str = "step"


@dataclass
class CyclicConfig(SchedulerConfig):
    scheduler: CyclicNode = field(default_factory=CyclicNode)
    interval: str = "step"


OPTIONS: dict[str, dict[str, Any]] = {
    "scheduler": {
        "none": SchedulerConfig,
        "plateau": PlateauConfig,
        "step": StepConfig,
        "exponential": ExponentialConfig,
        "inverse_time": InverseTimeConfig,
        "cosine": CosineConfig,
        "onecycle": OneCycleConfig,
        "cyclic": CyclicConfig,
    }
}
