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

from levers.assembly import build_module
from levers.callbacks.adagrad_reset import AdagradReset
from levers.callbacks.epoch_seeding import EpochSeeding
from levers.callbacks.summary import RunSummary, as_floats
from levers.checkpoint_io import AtomicCheckpointIO, load_checkpoint
from levers.config.trust import trusted_config
from levers.config.validate import validate_config, validate_monitor
from levers.crossval import cross_validate
from levers.data.datamodule import TabularDataModule
from levers.data.task import TaskSpec
from levers.diagnostics import doctor, gradcheck, lr_find, overfit
from levers.distributed import check_launch
from levers.errors import LeversRunFailed
from levers.fused_steps import fused_steps_for
from levers.metrics import loggable_names
from levers.module import LitModel
from levers.resume import resume_point
from levers.serving.checkpoint import ServingState, check_fits_data, recipe_of
from levers.terminal import is_quiet, print_final_table, trainer_display
from levers.tracking import FinishTrackersOnFailure, finish_trackers, log_hyperparams

log = logging.getLogger(__name__)


@dataclass
class Built:
    """What every mode starts from: the prepared data and the LightningModule (initial weights)."""

    data: TabularDataModule
    module: LitModel


def build(cfg: DictConfig) -> Built:
    """Seed, load and split the data, size the model from it, wrap it in the LightningModule.

    `cfg` has already passed validate_config (both callers, run and train, check it first).
    """
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = TabularDataModule(cfg.data, cfg.scaling.method, cfg.seed)
    validate_monitor(cfg.monitor, loggable_names(data.task))
    module = build_module(cfg, data.task, data.num_features, data.feature_scaler, data.target_scaler)
    return Built(data, module)


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
    validate_config(cfg)
    check_launch(cfg)
    if cfg.data.folds > 1 and cfg.data.fold is None:
        return cross_validate(cfg, train)  # this function once per fold; returns the k-fold mean
    built = build(cfg)
    data, module = built.data, built.module
    if start_from:
        check_checkpoint_fits(start_from, built, "resume" if cfg.get("resume") else "ckpt_path")
    header = {**_header(cfg, data, module.loss_name), "resumed_from": start_from}
    if cfg.optimizer.lr == "auto":
        header["lr_auto"] = lr_find.choose_lr(cfg, built)
    output_dir = Path(cfg.paths.output_dir)
    summary = RunSummary(output_dir / "summary.json", cfg.monitor, cfg.monitor_mode, header)
    quiet = is_quiet(cfg)
    display = trainer_display(cfg, quiet)
    callbacks = [
        *instantiate_entries(cfg.callbacks),
        *lever_callbacks(cfg),
        EpochSeeding(cfg.seed),
        ServingState(cfg, data),
        FinishTrackersOnFailure(),
        *display.pop("callbacks"),
        *extra_callbacks,
        summary,
    ]
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=instantiate_entries(cfg.logger) or False,
        plugins=[AtomicCheckpointIO()],
        **display,
    )
    fuse_steps(cfg, trainer, built)
    log_hyperparams(trainer.loggers, cfg)
    try:
        trainer.fit(module, datamodule=data, ckpt_path=start_from, weights_only=True)
    except LeversRunFailed:
        if trainer.is_global_zero:
            doctor.advise(output_dir, cfg)
        raise
    # SWA's averaged weights are the point of SWA: test them, not the best pre-averaging checkpoint.
    best_path = "" if _uses_swa(cfg) else _best_checkpoint(trainer)
    weights = "swa" if _uses_swa(cfg) else "best" if best_path else "last"
    results = trainer.test(module, datamodule=data, ckpt_path=best_path or None, verbose=False, weights_only=True)
    test_metrics = as_floats(results[0]) if results else {}
    finish_trackers(trainer.loggers)
    if trainer.is_global_zero:
        final = summary.write("completed", test=test_metrics, best_checkpoint=best_path, tested_weights=weights)
        log.info("test metrics (%s weights): %s", weights, _fmt(test_metrics))
        log.info("run directory: %s", output_dir)
        doctor.advise(output_dir, cfg)
        if not quiet:
            print_final_table(final)
    return summary.best_value if summary.best_value is not None else float("nan")


DIAGNOSTICS = {"lr_find": lr_find.run_lr_find, "overfit": overfit.run_overfit, "gradcheck": gradcheck.run_gradcheck}
PREPARE = {"overfit": overfit.regularization_off}  # a config change a mode needs before the module is built


def instantiate_entries(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a callbacks/logger group that is switched on (a `_target_` node)."""
    if not group:
        return []
    entries = [group[key] for key in group if not OmegaConf.is_missing(group, key)]  # unset loggers are MISSING
    return [instantiate(node) for node in entries if node is not None and "_target_" in node]


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


def fuse_steps(cfg: DictConfig, trainer: pl.Trainer, built: Built) -> None:
    """Switch module and data to several optimizer steps per Lightning step when `steps_per_call` allows it."""
    fused = fused_steps_for(cfg, trainer)
    if fused is None:
        return
    trainer.gradient_clip_val = None  # Lightning refuses to clip under manual optimization; the loop clips itself
    built.module.use_fused_steps(fused)
    built.data.steps_per_call = fused.plan.steps
    log.debug("%d optimizer steps per Lightning step", fused.plan.steps)


def check_checkpoint_fits(path: str, built: Built, key: str) -> None:
    """A checkpoint to continue from must be levers' own, for this data's inputs and task (one line otherwise)."""
    recipe = recipe_of(load_checkpoint(path, key), path, key)
    trusted_config(recipe["config"], path)  # not used here, but a checkpoint naming foreign code is not levers'
    stored = TaskSpec(**recipe["task"])
    check_fits_data(recipe["num_features"], stored, built.data.num_features, built.data.task, path, key)


def _uses_swa(cfg: DictConfig) -> bool:
    return cfg.regularization.swa_lr is not None


def _best_checkpoint(trainer: pl.Trainer) -> str:
    """The best checkpoint by the monitored metric ("" without one; last.ckpt's callback monitors nothing)."""
    ranked = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.monitor is not None]
    return ranked[0].best_model_path if ranked else ""


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
