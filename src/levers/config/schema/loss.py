"""Schemas of the `loss` group: each option's name and arguments; its `_target_` is written in its YAML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING


@dataclass
class AutoLossConfig:
    name: str = "auto"


@dataclass
class CrossEntropyConfig:
    name: str = "cross_entropy"
    _target_: str = MISSING
    label_smoothing: float = 0.0  # 0 (hard targets) .. 1


@dataclass
class BCEConfig:
    name: str = "bce"
    _target_: str = MISSING


@dataclass
class MSEConfig:
    name: str = "mse"
    _target_: str = MISSING


@dataclass
class MAEConfig:
    name: str = "mae"
    _target_: str = MISSING


@dataclass
class HuberConfig:
    name: str = "huber"
    _target_: str = MISSING
    delta: float = 1.0  # quadratic below delta, linear beyond


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
