"""Schemas of the `model` group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class MLPConfig:
    _target_: str = "levers.models.mlp.MLP"
    _partial_: bool = True
    depth: int = 2
    width: int = 256
    shape: str = "constant"  # constant | funnel
    activation: str = "relu"
    dropout: float = 0.0
    batchnorm: bool = False
    init: str = "auto"  # auto | he | lecun | glorot | default
    init_distribution: str = "uniform"  # uniform | normal
    bias_init: float = 0.0


OPTIONS: dict[str, dict[str, Any]] = {"model": {"mlp": MLPConfig}}
