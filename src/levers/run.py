"""The training flow: validated config -> data -> model -> module -> Trainer.fit -> test on the best weights."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint, StochasticWeightAveraging

from levers.callbacks.adagrad_reset import AdagradReset
from levers.callbacks.epoch_seeding import EpochSeeding
from levers.callbacks.summary import RunSummary, as_floats
from levers.checkpoint_io import AtomicCheckpointIO
from levers.config.validate import validate_config, validate_monitor
from levers.crossval import cross_validate
from levers.data.datamodule import TabularDataModule
from levers.diagnostics import doctor, gradcheck, lr_find, overfit
from levers.errors import LeversRunFailed
from levers.losses import LossChoice, build_loss
from levers.metrics import loggable_names
from levers.models import build_model
from levers.module import LitModel
from levers.optim import optimizer_factory
from levers.resume import resume_point

log = logging.getLogger(__name__)


@dataclass
class Built:
    """What every mode starts from: the prepared data, the loss and the LightningModule (initial weights)."""

    data: TabularDataModule
    loss: LossChoice
    module: LitModel


def build(cfg: DictConfig) -> Built:
    """Validate, seed, load and split the data, size the model from it, wrap it in the LightningModule."""
    validate_config(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = TabularDataModule(cfg.data, cfg.scaling.method, cfg.seed)
    loss = build_loss(cfg.loss, data.task)
    validate_monitor(cfg.monitor, loggable_names(data.task))
    net = build_model(cfg.model, data.num_features, loss.output_units(data.task))
    module = LitModel(
        net,
        loss,
        data.task,
        optimizer=optimizer_factory(cfg.optimizer),
        scheduler=cfg.scheduler,
        feature_scaler=data.feature_scaler,
        target_scaler=data.target_scaler,
        l1=cfg.regularization.l1,
        l1_activity=cfg.regularization.l1_activity,
    )
    return Built(data, loss, module)


def run(cfg: DictConfig) -> float:
    """Dispatch on `mode`: train, or one of the diagnostics (each returns its own figure of merit)."""
    if cfg.mode == "train":
        return train(cfg)
    validate_config(cfg)
    cfg = PREPARE.get(cfg.mode, lambda same: same)(cfg)
    return DIAGNOSTICS[cfg.mode](cfg, build(cfg))


def train(cfg: DictConfig, extra_callbacks: Sequence[pl.Callback] = ()) -> float:
    """Train, test the restored best checkpoint, write summary.json; return the best monitored value.

    `extra_callbacks` are added to the configured ones (for use from Python: notebooks, tests).
    """
    cfg, start_from = resume_point(cfg)
    if cfg.data.folds > 1 and cfg.data.fold is None:
        validate_config(cfg)
        return cross_validate(cfg, train)  # this function once per fold; returns the k-fold mean
    built = build(cfg)
    data, module = built.data, built.module
    header = {**_header(cfg, data, built.loss.name), "resumed_from": start_from}
    if cfg.optimizer.lr == "auto":
        header["lr_auto"] = lr_find.choose_lr(cfg, built)
    output_dir = Path(cfg.paths.output_dir)
    summary = RunSummary(output_dir / "summary.json", cfg.monitor, cfg.monitor_mode, header)
    loggers = instantiate_entries(cfg.logger)
    callbacks = [
        *instantiate_entries(cfg.callbacks),
        *lever_callbacks(cfg),
        EpochSeeding(cfg.seed),
        *extra_callbacks,
        summary,
    ]
    trainer: pl.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()]
    )
    for logger in trainer.loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    try:
        trainer.fit(module, datamodule=data, ckpt_path=start_from)
    except LeversRunFailed:
        if trainer.is_global_zero:
            doctor.advise(output_dir, cfg)
        raise
    # SWA's averaged weights are the point of SWA: test them, not the best pre-averaging checkpoint.
    best_path = "" if _uses_swa(cfg) else _best_checkpoint(trainer)
    weights = "swa" if _uses_swa(cfg) else "best" if best_path else "last"
    results = trainer.test(module, datamodule=data, ckpt_path=best_path or None, verbose=False)
    test_metrics = as_floats(results[0]) if results else {}
    if trainer.is_global_zero:
        summary.write("completed", test=test_metrics, best_checkpoint=best_path, tested_weights=weights)
        log.info("test metrics (%s weights): %s", weights, _fmt(test_metrics))
        doctor.advise(output_dir, cfg)
        log.info("run directory: %s", output_dir)
    return summary.best_value if summary.best_value is not None else float("nan")


DIAGNOSTICS = {"lr_find": lr_find.run_lr_find, "overfit": overfit.run_overfit, "gradcheck": gradcheck.run_gradcheck}
PREPARE = {"overfit": overfit.regularization_off}  # a config change a mode needs before the module is built


def instantiate_entries(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a callbacks/logger group that is switched on (a `_target_` node)."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node is not None and "_target_" in node]


def lever_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """Callbacks that levers in other groups switch on (optimizer, regularization)."""
    callbacks: list[pl.Callback] = []
    reset_every = cfg.optimizer.get("reset_every_n_epochs")
    if reset_every:
        callbacks.append(AdagradReset(reset_every))
    if _uses_swa(cfg):
        reg = cfg.regularization
        callbacks.append(
            StochasticWeightAveraging(
                swa_lrs=reg.swa_lr, swa_epoch_start=reg.swa_epoch_start, annealing_epochs=reg.swa_annealing_epochs
            )
        )
    return callbacks


def _uses_swa(cfg: DictConfig) -> bool:
    return cfg.regularization.swa_lr is not None


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
        "feature_spread": doctor.feature_spread(data.tensors["train"][0]),
    }


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{key}={value:.4f}" for key, value in sorted(metrics.items()))
