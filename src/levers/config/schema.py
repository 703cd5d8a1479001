"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each option's YAML starts with ``defaults: [/schema/<group>/<option>@_here_, _self_]`` so that a misspelt key
or a value of the wrong type fails at composition time with OmegaConf's message naming the key. Value ranges
(lr > 0, dropout in [0, 1), ...) are checked afterwards by :mod:`levers.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
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


# --- data and scaling -------------------------------------------------------------------------------------


@dataclass
class DataConfig:
    name: str = MISSING
    source: Any = MISSING  # a `_target_` node returning (features, target)
    task: str = "auto"  # auto | multiclass | binary | regression
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    stratify: bool = True
    batch_size: int = 32
    eval_batch_size: int = 1024
    limit: int | None = None  # keep the first N samples (after class filtering): start from a small task
    classes: list[int] | None = None  # keep only these classes, e.g. [0, 1]
    target_scaling: str = "standard"  # regression only: standard | none


@dataclass
class ScalingConfig:
    method: str = "standard"  # standard | minmax | robust | decimal | none


# --- model ------------------------------------------------------------------------------------------------


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


# --- loss -------------------------------------------------------------------------------------------------


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


# --- optimizer --------------------------------------------------------------------------------------------


@dataclass
class OptimizerConfig:
    _target_: str = MISSING
    _partial_: bool = True
    lr: float = 1e-3
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


# --- scheduler --------------------------------------------------------------------------------------------


@dataclass
class SchedulerConfig:
    """`scheduler` is a partial `_target_` node (or null); the rest tells Lightning when to step it."""

    scheduler: Any = None
    interval: str = "epoch"  # epoch | step
    frequency: int = 1
    monitor: str = "${monitor}"


# --- regularization ---------------------------------------------------------------------------------------


@dataclass
class RegularizationConfig:
    """One place for every regularizer; model and optimizer read their fields by interpolation."""

    dropout: float = 0.0
    weight_decay: float = 0.0  # L2, passed to the optimizer (decoupled with adamw)
    l1: float = 0.0  # L1 penalty on weights, added to the loss


# --- trainer, callbacks, logger ---------------------------------------------------------------------------


@dataclass
class TrainerConfig:
    _target_: str = "pytorch_lightning.Trainer"
    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: Any = "auto"
    num_nodes: int = 1
    precision: Any = "32-true"
    max_epochs: int = 300
    min_epochs: int | None = None
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str = "norm"
    deterministic: Any = True
    log_every_n_steps: int = 50
    check_val_every_n_epoch: int = 1
    accumulate_grad_batches: int = 1
    fast_dev_run: Any = False
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    default_root_dir: str = "${paths.output_dir}"


@dataclass
class EarlyStoppingConfig:
    _target_: str = "pytorch_lightning.callbacks.EarlyStopping"
    monitor: str = "${monitor}"
    mode: str = "${monitor_mode}"
    patience: int = 20
    min_delta: float = 0.0
    check_finite: bool = True


@dataclass
class ModelCheckpointConfig:
    _target_: str = "pytorch_lightning.callbacks.ModelCheckpoint"
    dirpath: str = "${paths.output_dir}/checkpoints"
    filename: str = "epoch_{epoch:03d}"
    monitor: str = "${monitor}"
    mode: str = "${monitor_mode}"
    save_top_k: int = 1
    save_last: bool = True
    every_n_epochs: int = 1
    auto_insert_metric_name: bool = False


@dataclass
class CallbacksConfig:
    """Each entry is a `_target_` node; set one to null to switch it off."""

    early_stopping: EarlyStoppingConfig | None = field(default_factory=EarlyStoppingConfig)
    model_checkpoint: ModelCheckpointConfig | None = field(default_factory=ModelCheckpointConfig)


@dataclass
class CSVLoggerConfig:
    _target_: str = "pytorch_lightning.loggers.CSVLogger"
    save_dir: str = "${paths.output_dir}"
    name: str = ""
    version: str = ""


@dataclass
class LoggerConfig:
    """Every logger an option can switch on; options compose (`logger=[csv,...]`)."""

    csv: CSVLoggerConfig | None = None


SCHEMAS: dict[str, dict[str, Any]] = {
    "data": {"dataset": DataConfig},
    "scaling": {"scaling": ScalingConfig},
    "model": {"mlp": MLPConfig},
    "loss": {
        "auto": AutoLossConfig,
        "cross_entropy": CrossEntropyConfig,
        "bce": BCEConfig,
        "mse": MSEConfig,
        "mae": MAEConfig,
        "huber": HuberConfig,
    },
    "optimizer": {
        "sgd": SGDConfig,
        "adam": AdamConfig,
        "adamw": AdamWConfig,
        "nadam": NAdamConfig,
        "rmsprop": RMSpropConfig,
        "adamax": AdamaxConfig,
        "adagrad": AdagradConfig,
    },
    "scheduler": {"scheduler": SchedulerConfig},
    "regularization": {"regularization": RegularizationConfig},
    "trainer": {"trainer": TrainerConfig},
    "callbacks": {"callbacks": CallbacksConfig},
    "logger": {"logger": LoggerConfig},
}


def register_schemas() -> None:
    """Store every schema under `schema/<group>/<name>` and the top level as `levers_schema`."""
    store = ConfigStore.instance()
    store.store(name="levers_schema", node=TrainConfig)
    for group, options in SCHEMAS.items():
        for name, node in options.items():
            store.store(group=f"schema/{group}", name=name, node=node)
