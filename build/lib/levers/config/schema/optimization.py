"""Schemas of the `optimizer` and `regularization` groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class OptimizerConfig:
    _target_: str = MISSING
    _partial_: bool = True
    lr: Any = 1e-3  # a float > 0, or "auto": an LR range test picks it (checked in config/validate.py)
    weight_decay: float = 0.0


@dataclass
class SGDConfig(OptimizerConfig):
    _target_: str = "torch.optim.SGD"
    momentum: float = 0.9
    nesterov: bool = True
    dampening: float = 0.0


@dataclass
class AdamConfig(OptimizerConfig):
    _target_: str = "torch.optim.Adam"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    amsgrad: bool = False


@dataclass
class AdamWConfig(AdamConfig):
    _target_: str = "torch.optim.AdamW"


@dataclass
class NAdamConfig(OptimizerConfig):
    _target_: str = "torch.optim.NAdam"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    momentum_decay: float = 4e-3


@dataclass
class RMSpropConfig(OptimizerConfig):
    _target_: str = "torch.optim.RMSprop"
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = 0.0
    centered: bool = False


@dataclass
class AdamaxConfig(OptimizerConfig):
    _target_: str = "torch.optim.Adamax"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8


@dataclass
class AdagradConfig(OptimizerConfig):
    _target_: str = "torch.optim.Adagrad"
    lr_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10


# --- regularization ---------------------------------------------------------------------------------------


@dataclass
class RegularizationConfig:
    """One place for every regularizer; model and optimizer read their fields by interpolation."""

    dropout: float = 0.0
    weight_decay: float = 0.0  # L2, passed to the optimizer (decoupled with adamw)
    l1: float = 0.0  # L1 penalty on weights, added to the loss
    l1_activity: float = 0.0  # L1 penalty on the hidden code (the head's input): sparse codes
    swa_lr: float | None = None  # stochastic weight averaging with this constant lr; null = off
    swa_epoch_start: int = 10  # epoch at which averaging starts
    swa_annealing_epochs: int = 5  # epochs to anneal from the training lr to swa_lr


OPTIONS: dict[str, dict[str, Any]] = {
    "optimizer": {
        "sgd": SGDConfig,
        "adam": AdamConfig,
        "adamw": AdamWConfig,
        "nadam": NAdamConfig,
        "rmsprop": RMSpropConfig,
        "adamax": AdamaxConfig,
        "adagrad": AdagradConfig,
    },
    "regularization": {"regularization": RegularizationConfig},
}
