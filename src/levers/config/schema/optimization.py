"""Schemas of the `optimizer` and `regularization` groups: every default and range of their keys; an optimizer's
`_target_` (which torch class) is written in its option's YAML (conf/optimizer/<option>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from levers.config.schema.checks import FRACTION, LR, NON_NEGATIVE, Check, above, at_least, checked, follows


@dataclass
class OptimizerConfig:
    """What every optimizer option shares; an option's YAML sets its `_target_` and any lr other than 1e-3."""

    _target_: str = MISSING
    _partial_: bool = True
    # a float > 0, or "auto": an LR range test picks it
    lr: Any = checked(1e-3, LR)  # noqa: RUF009 (a Field, as dataclasses.field returns)
    weight_decay: float = checked(follows("regularization.weight_decay"), NON_NEGATIVE)  # the regularization group's
    # model=backbone: the pretrained body trains at lr x this (a discriminative lr; e.g. 0.1), the new head at lr
    backbone_lr_mult: float = checked(1.0, above(0))


@dataclass
class SGDConfig(OptimizerConfig):
    momentum: float = checked(0.9, FRACTION)  # 0.9 for small data, toward 0.99 as data grows
    nesterov: bool = True
    dampening: float = 0.0


@dataclass
class AdamConfig(OptimizerConfig):
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    amsgrad: bool = False


@dataclass
class AdamWConfig(AdamConfig):
    """Adam's arguments; torch.optim.AdamW decouples the weight decay."""


@dataclass
class NAdamConfig(OptimizerConfig):
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    momentum_decay: float = 4e-3


@dataclass
class RMSpropConfig(OptimizerConfig):
    alpha: float = 0.99
    eps: float = 1e-8
    momentum: float = checked(0.0, FRACTION)
    centered: bool = False


@dataclass
class AdamaxConfig(OptimizerConfig):
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8


@dataclass
class AdagradConfig(OptimizerConfig):
    lr_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10


# --- regularization ---------------------------------------------------------------------------------------


@dataclass
class RegularizationConfig:
    """One place for every regularizer; model and optimizer read their fields by interpolation."""

    dropout: float = checked(0.0, FRACTION)
    weight_decay: float = checked(0.0, NON_NEGATIVE)  # L2, passed to the optimizer (decoupled with adamw)
    l1: float = checked(0.0, NON_NEGATIVE)  # L1 penalty on weights, added to the loss
    l1_activity: float = checked(0.0, NON_NEGATIVE)  # L1 penalty on the hidden code (the head's input): sparse codes
    # stochastic weight averaging with this constant lr; null = off
    swa_lr: float | None = checked(None, above(0, "null (off) or > 0", nullable=True))
    swa_epoch_start: int = checked(10, at_least(0))  # epoch at which averaging starts
    swa_annealing_epochs: int = 5  # epochs to anneal from the training lr to swa_lr
    # exponential moving average of the weights, updated every optimizer step: avg = decay * avg + (1 - decay) * w;
    # validation, checkpoints and tests use the average. null = off
    ema_decay: float | None = checked(None, Check(lambda v: v is None or 0 < v < 1, "null (off) or in (0, 1)"))


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
