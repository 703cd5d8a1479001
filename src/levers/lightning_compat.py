"""Every use levers makes of Lightning's private attributes and loop internals, in one place.

Fused steps (levers.fused_steps) run several optimizer steps inside one Lightning training step. Lightning has no
public API for what its own loop does per optimizer step there (count it in `trainer.global_step`, advance the
logged step axis), nor for a few facts the fused loop must know, so these functions reach into pytorch_lightning's
loops (written against 2.6). Each says why. tests/test_lightning_compat.py checks on a real Trainer that every name
used here still exists and still does what levers relies on, so an upgrade that renames or changes one fails there,
naming it, instead of silently miscounting steps.

Lightning Fabric would avoid these internals only by replacing the Trainer (callbacks, checkpoints, loggers, the
validation loop) with levers' own code; no public hook of the Trainer counts an optimizer step without also running
the precision plugin's per-step closure and callback hooks, which is the cost fused steps exist to avoid.
"""

from __future__ import annotations

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.core.optimizer import LightningOptimizer

# (owner, attribute) for every private or loop-internal name below: what tests/test_lightning_compat.py checks.
USED = (
    ("LightningOptimizer", "_on_before_step"),
    ("LightningOptimizer", "_on_after_step"),
    ("Trainer.fit_loop.epoch_loop", "_batches_that_stepped"),
    ("Trainer.fit_loop.epoch_loop", "_num_ready_batches_reached"),
    ("Trainer.fit_loop", "restarting"),
    ("Trainer.fit_loop.epoch_loop.automatic_optimization.optim_progress.optimizer.step", "total"),
    ("Trainer.fit_loop.epoch_loop.manual_optimization", "optim_step_progress"),
    ("ModelCheckpoint", "_every_n_train_steps"),
    ("ModelCheckpoint", "_train_time_interval"),
    ("ModelCheckpoint", "_save_topk_checkpoint"),
    ("ModelCheckpoint", "_monitor_candidates"),
)


def counted_step(optimizer: LightningOptimizer) -> None:
    """Step the wrapped optimizer and count it as the manual loop counts `LightningOptimizer.step()`.

    Why private: `step()` itself also runs the precision plugin's closure and the on_before_optimizer_step hooks of
    every callback, per step; the manual loop injects its step counter (`trainer.global_step`, the profiler's
    "optimizer_step") as these two methods, and nothing public calls them alone.
    """
    optimizer._on_before_step()
    optimizer.optimizer.step()
    optimizer._on_after_step()


def advance_logged_steps(trainer: pl.Trainer, extra: int) -> None:
    """Add `extra` to the step loggers write (one per Lightning step by default): one per optimizer step instead.

    Why private: the loggers' step is `fit_loop.epoch_loop._batches_that_stepped`, with no public setter.
    """
    trainer.fit_loop.epoch_loop._batches_that_stepped += extra


def epoch_ran_to_its_end(trainer: pl.Trainer) -> bool:
    """Whether the train epoch ending now saw its last batch, and is not a restart: when Lightning's automatic loop
    steps plateau schedulers at epoch end (it skips them under manual optimization).

    Why private: this is the automatic loop's own test (`_num_ready_batches_reached`), which nothing public exposes.
    """
    loop = trainer.fit_loop
    return not loop.restarting and loop.epoch_loop._num_ready_batches_reached()


def checkpoints_within_epochs(callback: ModelCheckpoint) -> bool:
    """Whether a ModelCheckpoint saves every n training steps or after a time (both per Lightning step).

    Why private: ModelCheckpoint keeps its constructor's every_n_train_steps and train_time_interval only as these.
    """
    return bool(callback._every_n_train_steps or callback._train_time_interval)


def save_epoch_checkpoint(callback: ModelCheckpoint, trainer: pl.Trainer, metrics: dict | None = None) -> None:
    """What a ModelCheckpoint writes at its once-an-epoch save point (`metrics`: the candidates it was given there).

    Why private: levers.callbacks.last_checkpoint decides by time whether that save happens, so it overrides
    `_save_topk_checkpoint`, the one method Lightning calls there (every_n_epochs already applied), and calls it
    through here when it is due; nothing public saves "as the callback would" with its own bookkeeping.
    """
    candidates = metrics if metrics is not None else callback._monitor_candidates(trainer)
    ModelCheckpoint._save_topk_checkpoint(callback, trainer, candidates)


def continue_step_count(trainer: pl.Trainer, checkpoint_step: int | None) -> None:
    """After loading a checkpoint, keep `trainer.global_step` where the checkpoint left it.

    Lightning counts optimizer steps in two places, one for automatic and one for manual optimization, and reads the
    one of the current mode: a checkpoint written in the other mode (e.g. `ckpt_path=` from a run with another
    steps_per_call) would restart the count at 0, and with it the logged step axis that a resume trims by.
    Why internal: these progress trackers are the count itself; global_step has no setter.
    """
    if checkpoint_step is None or trainer.global_step == checkpoint_step:
        return
    epoch_loop = trainer.fit_loop.epoch_loop
    if trainer.lightning_module.automatic_optimization:
        counter = epoch_loop.automatic_optimization.optim_progress.optimizer.step.total
    else:
        counter = epoch_loop.manual_optimization.optim_step_progress.total
    counter.ready = counter.completed = checkpoint_step
