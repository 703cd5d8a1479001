"""The training flow on what the composition root built: fit -> test on the best weights -> summary -> doctor."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint

from levers.build import (
    Built,
    build_data,
    build_trainer,
    decide_batch_size,
    decide_lr,
    decide_threads,
    diagnostics_settings,
    fuse_steps,
    load_elsewhere,
    module_for,
    regularization_off,
    trainer_factory,
    uses_swa,
)
from levers.callbacks.epoch_seeding import EpochSeeding
from levers.callbacks.summary import RunSummary, as_floats
from levers.checkpoint_io import load_checkpoint
from levers.config.resume import resume_point
from levers.config.schema.diagnostics import DiagnosticsConfig
from levers.config.trust import trusted_config
from levers.config.validate import validate_config
from levers.crossval import cross_validate
from levers.data.datamodule import TabularDataModule
from levers.data.task import TaskSpec
from levers.diagnostics import batch_size_find, doctor, gradcheck, lr_find, overfit
from levers.distributed import check_launch, spawn_job_ranks, spawns_job_ranks
from levers.errors import LeversRunFailed
from levers.logging_setup import lightning_info_on_console
from levers.serving.checkpoint import ServingState, check_fits_data, recipe_of
from levers.terminal import is_quiet, print_final_table, trainer_display
from levers.threads import apply as apply_threads
from levers.tracking import FinishTrackersOnFailure, finish_trackers, log_hyperparams

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> float:
    """Dispatch on `mode`: train, or one of the diagnostics (each returns its own figure of merit)."""
    if cfg.mode == "train":
        return train(cfg)
    validate_config(cfg)
    if cfg.mode == "overfit":
        cfg = regularization_off(cfg)
    data = build_data(cfg)
    if cfg.mode != "batch_size_find":
        cfg, _ = decide_batch_size(cfg, data)
    if cfg.mode in ("lr_find", "batch_size_find"):  # these set or need no lr; their module needs a valid one
        probe_lr = cfg.diagnostics.lr_find.min_lr if cfg.optimizer.lr == "auto" else None
        return run_diagnostic(cfg, Built(data, module_for(cfg, data, lr=probe_lr)))
    cfg, _ = decide_lr(cfg, data)
    return run_diagnostic(cfg, Built(data, module_for(cfg, data)))


def run_diagnostic(cfg: DictConfig, built: Built) -> float:
    """`mode=lr_find | overfit | gradcheck` on what was built; each returns its own figure of merit."""
    return DIAGNOSTICS[cfg.mode](diagnostics_settings(cfg), cfg, built)


def _lr_find(settings: DiagnosticsConfig, cfg: DictConfig, built: Built) -> float:
    return lr_find.run_lr_find(settings.lr_find, trainer_factory(cfg), built, Path(cfg.paths.output_dir))


def _batch_size_find(settings: DiagnosticsConfig, cfg: DictConfig, built: Built) -> float:
    finder, out = settings.batch_size_find, Path(cfg.paths.output_dir)
    return batch_size_find.run_batch_size_find(finder, trainer_factory(cfg), built.data, built.module, out)


def _overfit(settings: DiagnosticsConfig, cfg: DictConfig, built: Built) -> float:
    return overfit.run_overfit(settings.overfit, trainer_factory(cfg), built, Path(cfg.paths.output_dir))


def _gradcheck(settings: DiagnosticsConfig, cfg: DictConfig, built: Built) -> float:
    return gradcheck.run_gradcheck(settings.gradcheck, built, cfg.seed, Path(cfg.paths.output_dir))


DIAGNOSTICS: dict[str, Callable[[DiagnosticsConfig, DictConfig, Built], float]] = {
    "lr_find": _lr_find,
    "overfit": _overfit,
    "gradcheck": _gradcheck,
    "batch_size_find": _batch_size_find,
}


def train(cfg: DictConfig, extra_callbacks: Sequence[pl.Callback] = ()) -> float:
    """Train, test the restored best checkpoint, write summary.json; return the best monitored value.

    `extra_callbacks` are added to the configured ones (for use from Python: notebooks, tests).
    """
    if spawns_job_ranks(cfg.trainer):  # a DDP job of a multirun (no extra callbacks): its ranks run this function
        return spawn_job_ranks(train, cfg, cfg.trainer)
    start_key = "resume" if cfg.get("resume") else "ckpt_path"  # the saved config of a resumed run has neither
    cfg, start_from = resume_point(cfg)
    validate_config(cfg)
    check_launch(cfg.trainer)
    if cfg.data.folds > 1 and cfg.data.fold is None:
        # this function once per fold; returns the k-fold mean
        folds, out, table = cfg.data.folds, Path(cfg.paths.output_dir), not is_quiet(cfg.quiet)
        return cross_validate(folds, out, lambda i, fold_dir: train(for_fold(cfg, i, fold_dir)), table)
    busy = load_elsewhere(cfg)
    apply_threads(decide_threads(cfg, busy))  # no thrash while the data is prepared
    data = build_data(cfg)
    cfg, batch_size_auto = decide_batch_size(cfg, data)  # before the lr: a range test runs at the chosen size
    cfg, lr_auto = decide_lr(cfg, data)
    built = Built(data, module_for(cfg, data))
    module = built.module
    if start_from:
        check_checkpoint_fits(start_from, built, start_key)
    threads = decide_threads(cfg, busy, built)
    apply_threads(threads)
    log.info("torch threads: %d (%s)", threads.threads, threads.reason)
    header = {**_header(cfg, data, module.loss_name), "resumed_from": start_from, "threads": asdict(threads)}
    if lr_auto is not None:
        header["lr_auto"] = lr_auto
    if batch_size_auto is not None:
        header["batch_size_auto"] = batch_size_auto
    output_dir = Path(cfg.paths.output_dir)
    summary = RunSummary(output_dir / "summary.json", cfg.monitor, cfg.monitor_mode, header)
    quiet = is_quiet(cfg.quiet)
    lightning_info_on_console(cfg.verbose)
    display = trainer_display(
        quiet, cfg.trainer.enable_progress_bar, cfg.trainer.enable_model_summary, cfg.progress_every, cfg.verbose
    )
    resolved = OmegaConf.to_container(cfg, resolve=True)
    own_callbacks = [
        EpochSeeding(cfg.seed),
        ServingState(resolved, data),
        FinishTrackersOnFailure(),
        *display.pop("callbacks"),
        *extra_callbacks,
        summary,
    ]
    trainer = build_trainer(cfg, own_callbacks, **display)
    fuse_steps(cfg, trainer, built)
    log_hyperparams(trainer.loggers, resolved)
    try:
        trainer.fit(module, datamodule=data, ckpt_path=start_from, weights_only=True)
    except LeversRunFailed:
        if trainer.is_global_zero:
            doctor.advise(output_dir, doctor.facts_from_config(cfg))
        raise
    # SWA's averaged weights are the point of SWA: test them, not the best pre-averaging checkpoint.
    best_path = "" if uses_swa(cfg) else _best_checkpoint(trainer, output_dir)
    weights = "swa" if uses_swa(cfg) else "best" if best_path else "last"
    results = trainer.test(module, datamodule=data, ckpt_path=best_path or None, verbose=False, weights_only=True)
    test_metrics = as_floats(results[0]) if results else {}
    finish_trackers(trainer.loggers)
    if trainer.is_global_zero:
        final = summary.write("completed", test=test_metrics, best_checkpoint=best_path, tested_weights=weights)
        log.info("test metrics (%s weights): %s", weights, _fmt(test_metrics))
        log.info("run directory: %s", output_dir)
        doctor.advise(output_dir, doctor.facts_from_config(cfg))
        if not quiet:
            print_final_table(final)
    return summary.best_value if summary.best_value is not None else float("nan")


def for_fold(cfg: DictConfig, fold: int, output_dir: Path) -> DictConfig:
    """The config of fold `fold` of a k-fold run, writing into its own folder."""
    fold_cfg = copy.deepcopy(cfg)
    fold_cfg.data.fold, fold_cfg.paths.output_dir = fold, str(output_dir)
    fold_cfg.quiet = True  # k bars, summaries and tables, the last read as "the" result: one table at the end
    return fold_cfg


def check_checkpoint_fits(path: str, built: Built, key: str) -> None:
    """A checkpoint to continue from must be levers' own, for this data's inputs and task (one line otherwise)."""
    recipe = recipe_of(load_checkpoint(path, key), path, key)
    trusted_config(recipe["config"], path)  # not used here, but a checkpoint naming foreign code is not levers'
    stored = TaskSpec(**recipe["task"])
    check_fits_data(recipe["num_features"], stored, built.data.num_features, built.data.task, path, key)


def _best_checkpoint(trainer: pl.Trainer, output_dir: Path) -> str:
    """This run's best checkpoint by the monitored metric ("" without one; last.ckpt's callback monitors nothing).

    A path restored from a checkpoint of another run (`ckpt_path=` that trained no further epoch) is not this run's:
    then the weights in hand are tested, not another run's file."""
    ranked = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.monitor is not None]
    best = ranked[0].best_model_path if ranked else ""
    if best and output_dir.resolve() not in Path(best).resolve().parents:
        log.warning("the best checkpoint %s is not this run's; testing the weights in hand", best)
        return ""
    return best


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
        "target_tails": doctor.target_tails(data.tensors["train"][1]) if data.task.kind == "regression" else None,
    }


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{key}={value:.4f}" for key, value in sorted(metrics.items()))
