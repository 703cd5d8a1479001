"""Schemas of the `loss` group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class AutoLossConfig:
    name: str = "auto"


@dataclass
class CrossEntropyConfig:
    name: str = "cross_entropy"
    _target_: str = "torch.nn.CrossEntropyLoss"
    label_smoothing: float = 0.0


@dataclass
class BCEConfig:
    name: str = "bce"
    _target_: str = "torch.nn.BCEWithLogitsLoss"


@dataclass
class MSEConfig:
    name: str = "mse"
    _target_: str = "torch.nn.MSELoss"


@dataclass
class MAEConfig:
    name: str = "mae"
    _target_: str = "torch.nn.L1Loss"


@dataclass
class HuberConfig:
    name: str = "huber"
    _target_: str = "torch.nn.HuberLoss"
    delta: float = 1.0


OPTIONS: dict[str, dict[str, Any]] = {
    "loss": {
        "auto": AutoLossConfig,
        "cross_entropy": CrossEntropyConfig,
        "bce": BCEConfig,
        "mse": MSEConfig,
        "mae": MAEConfig,
        "huber": HuberConfig,
    }
}
