"""Top-level keys of conf/train.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


@dataclass
class PathsConfig:
    output_dir: str = "${hydra:runtime.output_dir}"


@dataclass
class TrainConfig:
    """Top-level keys of conf/train.yaml; the groups carry their own schemas."""

    seed: int = 42
    monitor: str = "val/loss"
    monitor_mode: str = "min"
    quiet: bool | None = None
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: Any = MISSING
    scaling: Any = MISSING
    model: Any = MISSING
    loss: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    regularization: Any = MISSING
    trainer: Any = MISSING
    callbacks: Any = MISSING
    logger: Any = MISSING
