"""Schemas of the `trainer`, `callbacks` and `logger` groups: every default and range of their keys; each node's
`_target_` (which class) is written in the option's YAML (conf/trainer/default.yaml, conf/callbacks/*.yaml,
conf/logger/*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from levers.config.schema.checks import AT_LEAST_ONE, Check, above, at_least, checked, one_of

MAX_EPOCHS = Check(lambda v: v >= 1 or v == -1, ">= 1 (or -1 for no limit)")


@dataclass
class TrainerConfig:
    _target_: str = MISSING
    accelerator: str = "auto"  # cpu | gpu | auto
    devices: Any = "auto"
    strategy: Any = "auto"
    num_nodes: int = checked(1, AT_LEAST_ONE)
    sync_batchnorm: bool = False
    precision: Any = "32-true"  # 32-true | bf16-mixed (Ampere or newer) | 16-mixed
    max_epochs: int = checked(300, MAX_EPOCHS)  # set many; early stopping ends the run
    min_epochs: int | None = None
    max_time: str | None = None  # DD:HH:MM:SS: Lightning stops the run after that much wall time (levers auto)
    gradient_clip_val: float | None = checked(None, above(0, "null or > 0", nullable=True))  # e.g. 1.0 to clip
    # norm keeps the gradient's direction; value clips each element
    gradient_clip_algorithm: str = checked("norm", one_of("norm", "value"))
    deterministic: Any = True  # same seed, same metrics
    log_every_n_steps: int = checked(50, AT_LEAST_ONE)
    check_val_every_n_epoch: int = checked(1, AT_LEAST_ONE)
    accumulate_grad_batches: int = checked(1, AT_LEAST_ONE)
    fast_dev_run: Any = False
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    default_root_dir: str = "${paths.output_dir}"
    # torch.compile the network's forward (in place: checkpoints load uncompiled); the first steps pay the compile
    compile: bool = False


# Keys of TrainerConfig that levers acts on itself (levers.callbacks.compile); Lightning's Trainer does not take them.
LEVERS_TRAINER_KEYS = ("compile",)


def lightning_arguments(trainer: DictConfig) -> dict[str, Any]:
    """The trainer node as Lightning's Trainer arguments: resolved, without levers' own keys."""
    arguments = OmegaConf.to_container(trainer, resolve=True)
    for key in LEVERS_TRAINER_KEYS:
        arguments.pop(key, None)
    return arguments


@dataclass
class EarlyStoppingConfig:
    _target_: str = MISSING
    monitor: str = "${monitor}"
    mode: str = "${monitor_mode}"
    patience: int = checked(20, at_least(0, ">= 0 (epochs without improvement)"))
    min_delta: float = checked(0.0, at_least(0))
    check_finite: bool = True


@dataclass
class ModelCheckpointConfig:
    _target_: str = MISSING
    dirpath: str = "${paths.output_dir}/checkpoints"
    filename: str = "epoch_{epoch:03d}"
    monitor: str = "${monitor}"
    mode: str = "${monitor_mode}"
    save_top_k: int = checked(1, at_least(-1, ">= -1 (-1: every epoch, 0: none)"))  # the best k by the monitor
    save_last: bool = False  # last.ckpt comes from `last_checkpoint`
    every_n_epochs: int = checked(1, AT_LEAST_ONE)
    auto_insert_metric_name: bool = False


@dataclass
class LastCheckpointConfig:
    """checkpoints/last.ckpt, what `resume=` continues from: at the end of an epoch once `every_s` seconds have
    passed since the last write, and always after the last epoch (levers.callbacks.last_checkpoint). (ModelCheckpoint's
    own save_last rewrites it, since Lightning 2.6, only in epochs that also save a best checkpoint.)"""

    _target_: str = MISSING
    dirpath: str = "${paths.output_dir}/checkpoints"
    filename: str = "last"
    monitor: str | None = None  # no metric: the one kept is the newest
    save_top_k: int = 1
    every_n_epochs: int = checked(1, AT_LEAST_ONE)
    enable_version_counter: bool = False  # overwrite last.ckpt, never last-v1.ckpt
    # at most one write per this many seconds (0: every epoch); Ctrl-C and SIGTERM still lose no finished epoch
    every_s: float = checked(1.0, at_least(0))


@dataclass
class PeriodicCheckpointConfig:
    """Keep a checkpoint every n epochs, whatever the metric says (pick the best afterwards)."""

    _target_: str = MISSING
    dirpath: str = "${paths.output_dir}/checkpoints/periodic"
    filename: str = "epoch_{epoch:03d}"
    every_n_epochs: int = checked(5, AT_LEAST_ONE)
    save_top_k: int = -1
    monitor: str | None = None
    auto_insert_metric_name: bool = False


@dataclass
class LearningRateMonitorConfig:
    _target_: str = MISSING
    logging_interval: str | None = "epoch"  # epoch | step (null: as the scheduler steps)
    log_momentum: bool = False


@dataclass
class NonFiniteGuardConfig:
    _target_: str = MISSING
    # on an accelerator, the host syncs this often (on CPU: every step, free)
    every_n_steps: int = checked(50, AT_LEAST_ONE)
    # a loss above this many times the run's first is diverged (null: NaN/inf only)
    divergence_factor: float | None = checked(1e4, above(1, "null (NaN/inf only) or > 1", nullable=True))


@dataclass
class LayerMonitorConfig:
    _target_: str = MISSING
    every_n_steps: int = checked(20, AT_LEAST_ONE)  # training steps between two measurements
    output_dir: str = "${paths.output_dir}"
    plot: bool = True  # monitor.png at the end of the run


@dataclass
class OptunaPruningConfig:
    _target_: str = MISSING
    monitor: str = "${monitor}"
    fold: Any = "${data.fold}"  # k-fold: only the first fold reports, so a trial's steps stay epochs


@dataclass
class AdagradResetConfig:
    """With optimizer=adagrad: its accumulated squared gradients only grow, so its steps shrink until it stalls;
    zeroing them every few epochs is the practice guide's remedy."""

    _target_: str = MISSING
    # e.g. 10; null: never (src/levers/callbacks/adagrad_reset.py)
    every_n_epochs: int | None = checked(None, at_least(1, "null (never) or >= 1", nullable=True))


@dataclass
class CallbacksConfig:
    """Each entry is a `_target_` node; set one to null to switch it off."""

    early_stopping: EarlyStoppingConfig | None = field(default_factory=EarlyStoppingConfig)
    model_checkpoint: ModelCheckpointConfig | None = field(default_factory=ModelCheckpointConfig)
    last_checkpoint: LastCheckpointConfig | None = field(default_factory=LastCheckpointConfig)
    periodic_checkpoint: PeriodicCheckpointConfig | None = None
    lr_monitor: LearningRateMonitorConfig | None = field(default_factory=LearningRateMonitorConfig)
    nonfinite_guard: NonFiniteGuardConfig | None = field(default_factory=NonFiniteGuardConfig)
    monitor: LayerMonitorConfig | None = None  # per-layer statistics; on with `callbacks=monitor`
    adagrad_reset: AdagradResetConfig | None = field(default_factory=AdagradResetConfig)
    optuna_pruning: OptunaPruningConfig | None = None  # switched on by hparams_search=optuna


@dataclass
class CSVLoggerConfig:
    _target_: str = MISSING
    save_dir: str = "${paths.output_dir}"
    name: str = ""
    version: str = ""


@dataclass
class TensorBoardLoggerConfig:
    _target_: str = MISSING
    save_dir: str = "${paths.output_dir}"
    name: str = "tensorboard"
    version: str = ""
    default_hp_metric: bool = False


@dataclass
class MLFlowLoggerConfig:
    _target_: str = MISSING
    tracking_uri: str = "sqlite:///outputs/mlflow.db"
    experiment_name: str = "levers"
    run_name: str | None = None
    artifact_location: str | None = None
    log_model: Any = True
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class WandbLoggerConfig:
    _target_: str = MISSING
    project: str = "levers"
    name: str | None = None
    save_dir: str = "${paths.output_dir}"
    offline: bool = True
    log_model: Any = False
    tags: list[str] = field(default_factory=list)


@dataclass
class LoggerConfig:
    """Every logger an option can switch on. Unset entries are MISSING, not None: merging a later option's schema
    leaves an earlier option's logger in place, so options compose (`logger=[csv,tensorboard]`)."""

    csv: CSVLoggerConfig | None = MISSING
    tensorboard: TensorBoardLoggerConfig | None = MISSING
    mlflow: MLFlowLoggerConfig | None = MISSING
    wandb: WandbLoggerConfig | None = MISSING


OPTIONS: dict[str, dict[str, Any]] = {
    "trainer": {"trainer": TrainerConfig},
    "callbacks": {"callbacks": CallbacksConfig},
    "logger": {"logger": LoggerConfig},
}
