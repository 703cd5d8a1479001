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
    mode: str = "train"  # train | lr_find | overfit | gradcheck
    monitor: str = "val/loss"
    monitor_mode: str = "min"
    resume: str | None = None  # a run directory to continue (its config, its checkpoints/last.ckpt)
    ckpt_path: str | None = None  # start this config's training from a checkpoint
    quiet: bool | None = None
    steps_per_call: Any = "auto"  # optimizer steps per Lightning training step: auto | an int >= 1
    progress_every: int = 25  # Lightning steps (calls, see steps_per_call) between two progress-bar refreshes
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
    diagnostics: Any = MISSING
