"""Schemas of the `model` group."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class CNNConfig:
    _target_: str = "levers.models.cnn.CNN"
    _partial_: bool = True
    image_shape: Any = "${data.image_shape}"
    channels: list[int] = field(default_factory=lambda: [32, 64])
    kernel_size: int = 3
    pool: str = "max"  # max | avg | none
    head: str = "avg"  # avg (global average pool) | flatten (keep the map's layout)
    activation: str = "relu"
    dropout: float = 0.0
    batchnorm: bool = True
    init: str = "auto"
    init_distribution: str = "uniform"
    bias_init: float = 0.0


@dataclass
class RNNConfig:
    _target_: str = "levers.models.rnn.RNN"
    _partial_: bool = True
    image_shape: Any = "${data.image_shape}"
    cell: str = "gru"  # gru | lstm
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    init: str = "auto"
    init_distribution: str = "uniform"


OPTIONS: dict[str, dict[str, Any]] = {"model": {"mlp": MLPConfig, "cnn": CNNConfig, "rnn": RNNConfig}}
