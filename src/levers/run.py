"""The training flow: validated config -> data -> model -> module -> Trainer.fit -> test on the best weights."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint

from levers.assembly import build_module
from levers.callbacks.summary import RunSummary, as_floats
from levers.config.validate import validate_config, validate_monitor
from levers.data.datamodule import TabularDataModule
from levers.distributed import check_launch
from levers.metrics import loggable_names
from levers.serving.checkpoint import ServingState
from levers.terminal import is_quiet, print_final_table, trainer_display
from levers.tracking import FinishTrackersOnFailure, finish_trackers, log_hyperparams

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> float:
    """Train, test the restored best checkpoint, write summary.json; return the best monitored value."""
    validate_config(cfg)
    check_launch(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = TabularDataModule(cfg.data, cfg.scaling.method, cfg.seed)
    validate_monitor(cfg.monitor, loggable_names(data.task))
    module = build_module(cfg, data.task, data.num_features, data.feature_scaler, data.target_scaler)
    output_dir = Path(cfg.paths.output_dir)
    header = _header(cfg, data, module.loss_name)
    summary = RunSummary(output_dir / "summary.json", cfg.monitor, cfg.monitor_mode, header)
    loggers = instantiate_entries(cfg.logger)
    quiet = is_quiet(cfg)
    display = trainer_display(cfg, quiet)
    callbacks = [*instantiate_entries(cfg.callbacks), summary, ServingState(cfg, data), FinishTrackersOnFailure()]
    callbacks += display.pop("callbacks")
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, **display)
    log_hyperparams(trainer.loggers, cfg)
    trainer.fit(module, datamodule=data)
    best_path = _best_checkpoint(trainer)
    results = trainer.test(module, datamodule=data, ckpt_path=best_path or None, verbose=False)
    test_metrics = as_floats(results[0]) if results else {}
    finish_trackers(trainer.loggers)
    if trainer.is_global_zero:
        final = summary.write("completed", test=test_metrics, best_checkpoint=best_path)
        log.info("test metrics (%s weights): %s", "best" if best_path else "last", _fmt(test_metrics))
        log.info("run directory: %s", output_dir)
        if not quiet:
            print_final_table(final)
    return summary.best_value if summary.best_value is not None else float("nan")


def instantiate_entries(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a callbacks/logger group that is switched on (a `_target_` node)."""
    if not group:
        return []
    entries = [group[key] for key in group if not OmegaConf.is_missing(group, key)]  # unset loggers are MISSING
    return [instantiate(node) for node in entries if node is not None and "_target_" in node]


def _best_checkpoint(trainer: pl.Trainer) -> str:
    checkpoint = trainer.checkpoint_callback
    return checkpoint.best_model_path if isinstance(checkpoint, ModelCheckpoint) else ""


def _header(cfg: DictConfig, data: TabularDataModule, loss_name: str) -> dict[str, Any]:
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []
    return {
        "data": cfg.data.name,
        "task": data.task.kind,
        "loss": loss_name,
        "seed": cfg.seed,
        "overrides": overrides,
        "split_sizes": {name: data.split_size(name) for name in ("train", "val", "test")},
        "output_dir": str(cfg.paths.output_dir),
    }


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{key}={value:.4f}" for key, value in sorted(metrics.items()))
