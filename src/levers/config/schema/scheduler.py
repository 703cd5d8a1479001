"""Schemas of the `scheduler` group: a partial `_target_` node plus when Lightning steps it. Every argument's default
is written here; the `_target_` (which scheduler) in the option's YAML (conf/scheduler/<option>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import INTERVAL, checked


@dataclass
class SchedulerConfig:
    scheduler: Any = None  # a partial `_target_` node, or null for a constant lr
    interval: str = checked("epoch", INTERVAL)  # epoch | step: when Lightning steps the scheduler
    frequency: int = 1
    monitor: str = "${monitor}"  # what reduce-on-plateau watches


@dataclass
class PlateauNode:
    _target_: str = MISSING
    _partial_: bool = True
    mode: str = "${monitor_mode}"
    factor: float = 0.5  # halve, per the practice guide
    patience: int = 5  # stale epochs before halving
    threshold: float = 1e-4
    min_lr: float = 1e-6


@dataclass
class StepNode:
    _target_: str = MISSING
    _partial_: bool = True
    step_size: int = 30  # epochs between drops
    gamma: float = 0.1


@dataclass
class ExponentialNode:
    _target_: str = MISSING
    _partial_: bool = True
    gamma: float = 0.97


@dataclass
class InverseTimeNode:
    _target_: str = MISSING
    _partial_: bool = True
    decay: float = 0.1


@dataclass
class CosineNode:
    _target_: str = MISSING
    _partial_: bool = True
    warmup_fraction: float = 0.05  # share of all steps spent warming up
    min_factor: float = 0.0  # final lr as a fraction of optimizer.lr


@dataclass
class OneCycleNode:
    _target_: str = MISSING
    _partial_: bool = True
    max_lr: float = 1e-2
    pct_start: float = 0.3  # fraction of the cycle spent rising
    anneal_strategy: str = "cos"
    cycle_momentum: bool = True  # SGD momentum / Adam beta1 go down while the lr goes up
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    div_factor: float = 25.0
    final_div_factor: float = 1e4


@dataclass
class CyclicNode:
    _target_: str = MISSING
    _partial_: bool = True
    base_lr: float = 1e-4
    max_lr: float = 1e-2
    step_size_up: int = 200  # batches from base_lr to max_lr
    mode: str = "triangular"
    cycle_momentum: bool = False  # true only with a momentum optimizer (sgd)


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
    interval: str = checked("step", INTERVAL)  # every batch


@dataclass
class OneCycleConfig(SchedulerConfig):
    scheduler: OneCycleNode = field(default_factory=OneCycleNode)
    interval: str = checked("step", INTERVAL)  # every batch


@dataclass
class CyclicConfig(SchedulerConfig):
    scheduler: CyclicNode = field(default_factory=CyclicNode)
    interval: str = checked("step", INTERVAL)  # every batch


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
