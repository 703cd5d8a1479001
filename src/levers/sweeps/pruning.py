"""Optuna pruning from inside the running job: report the monitored metric to this job's trial after every
validation epoch, through the study's storage, and stop the job when the study's pruner says the trial is hopeless.

Written here rather than taken from optuna-integration: its PyTorchLightningPruningCallback needs the trial object
in the process that builds the Trainer (the sweeper has it, the job does not) and targets `lightning.pytorch`, while
levers runs on `pytorch_lightning`. The job finds its trial from the environment the levers Optuna sweeper sets.
"""

from __future__ import annotations

import os
from typing import Any

import pytorch_lightning as pl

from hydra_plugins.levers_sweepers.optuna_sweeper import TRIAL_ENV, open_storage


class OptunaPruning(pl.Callback):
    """A no-op outside an Optuna sweep; `fold` > 0 (later folds of k-fold) reports nothing, so steps stay epochs.

    In a DDP job rank 0 reports and decides, and every rank learns the verdict (a broadcast), so all ranks stop
    together: one rank leaving the loop alone would leave the others waiting in their next all-reduce."""

    def __init__(self, monitor: str, fold: int | None = None) -> None:
        self.monitor, self.fold = monitor, fold
        self.trial: Any = None
        self.active = False

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.active = self.fold in (None, 0) and bool(os.environ.get(TRIAL_ENV["trial"]))  # the same on every rank
        if self.active and trainer.is_global_zero:
            self.trial = current_trial()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if not self.active or trainer.sanity_checking or value is None:
            return
        import optuna

        prune = False
        if self.trial is not None:
            self.trial.report(float(value), step=trainer.current_epoch)
            prune = self.trial.should_prune()
        if trainer.world_size > 1:
            prune = trainer.strategy.broadcast(prune, src=0)
        if prune:
            raise optuna.TrialPruned(f"pruned at epoch {trainer.current_epoch}: {self.monitor}={float(value):.4g}")


def current_trial() -> Any:
    """This job's Optuna trial, reconnected through the study's storage, with the sweep's pruner; else None."""
    if not os.environ.get(TRIAL_ENV["trial"]):
        return None
    import optuna
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate

    pruner = instantiate(HydraConfig.get().sweeper.pruner) if HydraConfig.initialized() else None
    env = {key: os.environ[name] for key, name in TRIAL_ENV.items()}
    study = optuna.load_study(study_name=env["study"], storage=open_storage(env["storage"]), pruner=pruner)
    return optuna.trial.Trial(study, int(env["trial"]))
