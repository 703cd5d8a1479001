"""The composition root: the one place that reads the whole config and turns it into the objects of a run.

Everything is decided before it is built: the learning rate (an `optimizer.lr=auto` range test runs on a probe
module first), then the module with its final optimizer, then callbacks, loggers and the Trainer. Below this module,
functions take the typed pieces they need (a loss choice, a model node, an optimizer factory), not the whole config.

    data      <- cfg.data, cfg.scaling, cfg.seed           (levers.data.datamodule)
    loss      <- cfg.loss + the data's task                 (levers.losses)
    model     <- cfg.model + the data's shape               (levers.models)
    optimizer <- cfg.optimizer (+ the lr a range test chose) (levers.optim)
    module    <- all of the above + cfg.scheduler, cfg.regularization (levers.module)
    callbacks <- cfg.callbacks + levers switched on in other groups (SWA, EMA)
    loggers   <- cfg.logger;  Trainer <- cfg.trainer
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.callbacks import StochasticWeightAveraging
from pytorch_lightning.utilities.seed import isolate_rng

from levers.callbacks.compile import CompileNetwork
from levers.callbacks.ema import EMA
from levers.checkpoint_io import AtomicCheckpointIO
from levers.config.schema.diagnostics import DiagnosticsConfig
from levers.config.schema.optimization import RegularizationConfig
from levers.config.schema.scheduler import SchedulerConfig
from levers.config.schema.trainer import lightning_arguments
from levers.config.settings import data_settings, typed
from levers.config.validate import validate_monitor
from levers.cpu_load import busy_elsewhere
from levers.data.datamodule import TabularDataModule
from levers.data.scaling import AffineScaler
from levers.data.task import TaskSpec
from levers.diagnostics import TrainerFactory
from levers.errors import LeversConfigError
from levers.fused_steps import KEY as STEPS_PER_CALL
from levers.fused_steps import OLD_RUNS, FusedRequest, fused_steps_for
from levers.losses import build_loss
from levers.metrics import loggable_names, target_columns
from levers.models import build_model
from levers.module import LitModel
from levers.optim import Schedule, optimizer_factory
from levers.terminal import is_quiet
from levers.threads import ThreadChoice, choose_threads, step_flops, usable_cores

log = logging.getLogger(__name__)


@dataclass
class Built:
    """What every mode starts from: the prepared data and the LightningModule (initial weights)."""

    data: TabularDataModule
    module: LitModel


def build(cfg: DictConfig) -> Built:
    """Seed, load and split the data, size the model from it, wrap it in the LightningModule.

    `cfg` has already passed validate_config; a numeric lr (an `auto` one is decided by `decide_lr` first).
    """
    data = build_data(cfg)
    return Built(data, module_for(cfg, data))


def build_data(cfg: DictConfig) -> TabularDataModule:
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    data = TabularDataModule(data_settings(cfg.data), cfg.scaling.method, cfg.seed)
    validate_monitor(cfg.monitor, loggable_names(data.task))
    return data


def module_for(cfg: DictConfig, data: TabularDataModule, lr: float | None = None) -> LitModel:
    train_features, train_target = data.tensors["train"]  # class weights, piecewise bins: the train split only
    layout = data.encoder.input_layout() if data.encoder is not None else None
    scalers = data.feature_scaler, data.target_scaler
    return build_module(cfg, data.task, data.num_features, *scalers, lr, train_target, layout, train_features)


def build_module(
    cfg: DictConfig,
    task: TaskSpec,
    num_features: int,
    feature_scaler: AffineScaler,
    target_scaler: AffineScaler,
    lr: float | None = None,
    train_target: torch.Tensor | None = None,
    layout: dict[str, list] | None = None,
    train_features: torch.Tensor | None = None,
) -> LitModel:
    """Config + data facts -> the LightningModule; also what rebuilds a model from its checkpoint's recipe
    (without `train_target`: balanced class weights then come from the checkpoint's state dict)."""
    loss = build_loss(cfg.loss, task, train_target)
    _warn_if_rescaled_for_pretrained(cfg)
    net = build_model(cfg.model, num_features, loss.output_units(task), layout, train_features)
    return LitModel(
        net,
        loss,
        task,
        optimizer=optimizer_factory(cfg.optimizer, lr),
        scheduler=Schedule.of(cfg.scheduler),
        feature_scaler=feature_scaler,
        target_scaler=target_scaler,
        l1=cfg.regularization.l1,
        l1_activity=cfg.regularization.l1_activity,
        target_names=target_columns(cfg.data.get("target"), task),
        backbone_lr_mult=cfg.optimizer.get("backbone_lr_mult", 1.0),  # absent from the config of older runs
    )


def _warn_if_rescaled_for_pretrained(cfg: DictConfig) -> None:
    """Pretrained weights expect the inputs they were trained on; a scaler fitted on this data's own train split
    (per pixel) feeds them something else: on Fashion-MNIST, a frozen body's head then learned nothing
    (bench/finetune.py). One fixed normalization inside the network is what transfer needs."""
    if cfg.model.get("weights") and cfg.scaling.method != "none":
        log.warning(
            "model.weights with scaling=%s: the pretrained network sees this data scaled by its own statistics; "
            "use scaling=none with model.input_mean/input_std (the pretraining data's)",
            cfg.scaling.method,
        )


def decide_lr(cfg: DictConfig, data: TabularDataModule) -> tuple[DictConfig, dict[str, Any] | None]:
    """`optimizer.lr=auto`: an LR range test on a probe module, then the config with the chosen number.

    The probe is built and swept with the random state set aside, so the module built afterwards (and its dropout
    masks) are those of a run started with `optimizer.lr=<the chosen number>`.
    """
    if cfg.optimizer.lr != "auto":
        return cfg, None
    from levers.diagnostics import lr_find

    with isolate_rng():
        probe = module_for(cfg, data, lr=cfg.diagnostics.lr_find.min_lr)  # the sweep sets every lr itself
        settings = diagnostics_settings(cfg).lr_find
        choice = lr_find.choose_lr(settings, trainer_factory(cfg), data, probe, output_dir(cfg))
    chosen = copy.deepcopy(cfg)  # the caller's config stays as it was
    chosen.optimizer.lr = choice["lr"]
    return chosen, choice


def decide_batch_size(cfg: DictConfig, data: TabularDataModule) -> tuple[DictConfig, dict[str, Any] | None]:
    """`data.batch_size=auto`: probe training steps on a copy of a module (levers.diagnostics.batch_size_find),
    then the config with the chosen number (the data module already trains with it); the RNG set aside as above."""
    if cfg.data.batch_size != "auto":
        return cfg, None
    from levers.diagnostics import batch_size_find

    with isolate_rng():
        probe = module_for(cfg, data, lr=_probe_lr(cfg))
        settings = diagnostics_settings(cfg).batch_size_find
        choice = batch_size_find.choose_batch_size(settings, trainer_factory(cfg), data, probe, output_dir(cfg))
    chosen = copy.deepcopy(cfg)
    chosen.data.batch_size = choice["batch_size"]
    return chosen, choice


def _probe_lr(cfg: DictConfig) -> float | None:
    """A valid lr for a module built before `optimizer.lr=auto` decided one."""
    return cfg.diagnostics.lr_find.min_lr if cfg.optimizer.lr == "auto" else None


def diagnostics_settings(cfg: DictConfig) -> DiagnosticsConfig:
    return typed(cfg.diagnostics, DiagnosticsConfig)


def output_dir(cfg: DictConfig) -> Path:
    return Path(cfg.paths.output_dir)


def trainer_factory(cfg: DictConfig) -> TrainerFactory:
    """The configured Trainer for a diagnostic, which sets its own epochs and steps: by default no callbacks,
    logger, checkpoints or model summary, and checkpoints (the Tuner's temporary one) read and written as a run's."""
    arguments = lightning_arguments(cfg.trainer)
    bar = {"enable_progress_bar": False} if is_quiet(cfg.get("quiet")) else {}  # quiet=true: no range-test bar

    def new_trainer(**settings: Any) -> pl.Trainer:
        quiet = {"callbacks": [], "logger": False, "enable_checkpointing": False, "enable_model_summary": False, **bar}
        return instantiate(arguments, **{**quiet, "plugins": [AtomicCheckpointIO()], **settings})

    return new_trainer


def regularization_off(cfg: DictConfig) -> DictConfig:
    """`mode=overfit`: a copy of cfg with every regularizer at its schema default (= off, as
    `regularization=none`) and no schedule, so that only the network and the data decide whether it can fit."""
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.regularization = OmegaConf.structured(RegularizationConfig)
        for key in ("model.dropout", "optimizer.weight_decay"):
            if OmegaConf.select(cfg, key, default=None) is not None:
                OmegaConf.update(cfg, key, 0.0)
        cfg.scheduler = OmegaConf.structured(SchedulerConfig)  # scheduler=none
    return cfg


def build_trainer(cfg: DictConfig, callbacks: Sequence[pl.Callback], **display: Any) -> pl.Trainer:
    """The configured Trainer with the configured callbacks and loggers, checkpoints written atomically."""
    return instantiate(
        lightning_arguments(cfg.trainer),
        callbacks=[*instantiate_entries(cfg.callbacks), *lever_callbacks(cfg), *callbacks],
        logger=instantiate_entries(cfg.logger) or False,
        plugins=[AtomicCheckpointIO()],
        **display,
    )


def instantiate_entries(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a callbacks/logger group that is switched on (a `_target_` node)."""
    if not group:
        return []
    entries = [group[key] for key in group if not OmegaConf.is_missing(group, key)]  # unset loggers are MISSING
    return [instantiate(node) for node in entries if node is not None and "_target_" in node]


def lever_callbacks(cfg: DictConfig) -> list[pl.Callback]:
    """Callbacks that levers in other groups switch on (regularization, trainer.compile)."""
    callbacks: list[pl.Callback] = []
    if uses_swa(cfg):
        reg = cfg.regularization
        callbacks.append(
            StochasticWeightAveraging(
                swa_lrs=reg.swa_lr, swa_epoch_start=reg.swa_epoch_start, annealing_epochs=reg.swa_annealing_epochs
            )
        )
    ema_decay = cfg.regularization.get("ema_decay")  # absent from the saved config of a run made before EMA
    if ema_decay is not None:
        if uses_swa(cfg):
            raise LeversConfigError("regularization.ema_decay", ema_decay, "null with SWA on")
        callbacks.append(EMA(decay=ema_decay))
    if cfg.trainer.get("compile", False):  # after EMA, whose averaged copy is taken of the uncompiled network
        callbacks.append(CompileNetwork())
    return callbacks


def uses_swa(cfg: DictConfig) -> bool:
    return cfg.regularization.swa_lr is not None


def fuse_steps(cfg: DictConfig, trainer: pl.Trainer, built: Built) -> None:
    """Hand the module its fused loop (several optimizer steps per Lightning step) when `steps_per_call` allows
    it; decided from the config and the built Trainer (strategy, precision, callbacks), once, before fit."""
    fused = fused_steps_for(fused_request(cfg), trainer)
    if fused is None:
        return
    trainer.gradient_clip_val = None  # Lightning refuses to clip under manual optimization; the loop clips itself
    trainer.accumulate_grad_batches = 1  # nor does it accumulate there; the loop does (fused.plan.accumulate)
    built.module.use_fused_steps(fused)
    built.data.steps_per_call = fused.plan.steps
    log.debug("%d optimizer steps per Lightning step", fused.plan.steps)


def fused_request(cfg: DictConfig) -> FusedRequest:
    plateau = "ReduceLROnPlateau" in str(cfg.scheduler.get("scheduler") or "")
    return FusedRequest(
        steps_per_call=cfg.get(STEPS_PER_CALL, OLD_RUNS),
        batch_size=cfg.data.batch_size,
        mode=cfg.mode,
        swa=uses_swa(cfg),
        plateau_per_step=plateau and cfg.scheduler.interval == "step",
        plateau_monitor=cfg.scheduler.get("monitor"),
    )


def load_elsewhere(cfg: DictConfig) -> float:
    """Cores other processes keep busy, sampled once per run where `threads=auto` will use it."""
    return busy_elsewhere() if cfg.threads == "auto" and not os.environ.get("OMP_NUM_THREADS") else 0.0


def decide_threads(cfg: DictConfig, busy: float, built: Built | None = None) -> ThreadChoice:
    """`threads=auto | N` (levers.threads): before the data is prepared only the free cores count; once the model
    is built, one real training batch says whether a step is worth sharing."""
    flops = math.inf
    if built is not None:
        flops = step_flops(built.module.net, built.data.tensors["train"][0][: cfg.data.batch_size])
    return choose_threads(cfg.threads, flops, usable_cores(), busy, os.environ.get("OMP_NUM_THREADS"))
