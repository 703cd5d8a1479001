"""Several optimizer steps per Lightning training step: the per-step overhead of Lightning's loop, paid once per chunk.

For the small networks levers trains, one optimizer step costs well under a millisecond on a CPU, and Lightning's
automatic loop adds about as much again (hooks on every callback, the closure, `self.log`). With `steps_per_call`
above 1 the data module yields chunks of `steps_per_call` mini-batches and the module runs them in one
`training_step` under manual optimization, doing per mini-batch exactly what the automatic loop does: zero the
gradients, forward, backward, clip (trainer.gradient_clip_val / _algorithm), step, count the step
(`trainer.global_step`), and step per-step schedulers with their `frequency`. Epoch-interval schedulers step where
Lightning steps them (non-plateau ones after the last batch, before validation; plateau ones at epoch end), the
epoch's train loss is the same size-weighted mean, and the logged step axis counts optimizer steps.
tests/test_fused_steps.py checks that both paths end with the same weights, steps and logged metrics.
One visible difference: a plateau scheduler's epoch-end step is already in that epoch's checkpoint (Lightning's own
loop saves the checkpoint first, and then skips the step when it resumes from it).

What the fused path skips are the per-mini-batch hooks (on_before_backward, on_after_backward,
on_before_optimizer_step, on_before_zero_grad), and on_train_batch_start/end see a chunk; `auto` therefore keeps
Lightning's own loop whenever a callback or setting relies on them, or on anything else that is only exact per
Lightning batch (see `reasons_to_keep_one`). A callback that is fine with chunks says so with
`fused_steps_safe = True`. A checkpoint written in one loop continues in the other with the same step count
(`continue_step_count`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar
from pytorch_lightning.plugins.precision import Precision
from pytorch_lightning.strategies import SingleDeviceStrategy

from levers.errors import LeversConfigError

KEY = "steps_per_call"
AUTO_ROWS_PER_CALL = 4096  # auto: enough mini-batches per call that Lightning's ~1-3 ms per call is a few percent
PER_STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")
PER_BATCH_HOOKS = ("on_train_batch_start", "on_train_batch_end")
OLD_RUNS = 1  # a run directory saved before `steps_per_call` existed: Lightning's loop, as its checkpoints were made


@dataclass(frozen=True)
class FusedPlan:
    steps: int  # optimizer steps (mini-batches) per training_step call
    batch_size: int  # rows per mini-batch
    clip_val: float | None
    clip_algorithm: str  # norm | value


def requested_steps(value: int | str, batch_size: int) -> int:
    """`steps_per_call` as a number before any compatibility check; auto sizes a call to AUTO_ROWS_PER_CALL rows."""
    if value == "auto":
        return max(1, AUTO_ROWS_PER_CALL // batch_size)
    return int(value)


def reasons_to_keep_one(cfg: DictConfig, trainer: pl.Trainer) -> list[str]:
    """Why this run must keep one optimizer step per Lightning step (empty: fusing is exact)."""
    reasons = []
    if cfg.mode != "train":
        reasons.append(f"mode={cfg.mode} drives Lightning's loop itself")
    if not isinstance(trainer.strategy, SingleDeviceStrategy):
        reasons.append(f"strategy {type(trainer.strategy).__name__}: data parallelism syncs on every backward")
    if type(trainer.precision_plugin) is not Precision:
        reasons.append(f"trainer.precision={trainer.precision}: mixed precision scales the loss per step")
    if trainer.accumulate_grad_batches != 1:
        reasons.append("trainer.accumulate_grad_batches is set")
    if trainer.max_steps != -1:
        reasons.append("trainer.max_steps is set (checked per Lightning step)")
    if not _whole_epochs(trainer.limit_train_batches) or trainer.val_check_interval != 1.0:
        reasons.append("trainer.limit_train_batches / val_check_interval count Lightning steps")
    if cfg.regularization.swa_lr is not None:
        reasons.append("regularization=swa: Lightning's SWA callback needs automatic optimization")
    if cfg.scheduler.interval == "step" and "ReduceLROnPlateau" in str(cfg.scheduler.get("scheduler") or ""):
        reasons.append("a reduce-on-plateau scheduler with scheduler.interval=step")
    reasons += [
        f"callback {type(callback).__name__} uses per-step hook {hook}"
        for callback in trainer.callbacks
        for hook in PER_STEP_HOOKS
        if _overrides(callback, hook)
    ]
    reasons += [reason for callback in trainer.callbacks if (reason := _per_batch_reason(callback))]
    return reasons


def _whole_epochs(limit: int | float | None) -> bool:
    """Lightning's limit_train_batches: the float 1.0 (or None) is every batch; the int 1 is one batch."""
    return limit is None or (isinstance(limit, float) and limit == 1.0)


def _overrides(callback: pl.Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(pl.Callback, hook)


def _per_batch_reason(callback: pl.Callback) -> str | None:
    """Why a callback needs one Lightning step per mini-batch, if it does.

    Callbacks that only display or count batches are fine with chunks (progress bars, and any callback with
    `fused_steps_safe = True`, e.g. levers' non-finite guard); Lightning's lr monitor and checkpoints are fine unless
    they act every n steps.
    """
    name = type(callback).__name__
    if isinstance(callback, LearningRateMonitor):
        return None if callback.logging_interval == "epoch" else f"{name} logs every step (logging_interval)"
    if isinstance(callback, ModelCheckpoint):
        per_step = callback._every_n_train_steps or callback._train_time_interval
        return f"{name} saves every n steps or after a time" if per_step else None
    if isinstance(callback, ProgressBar) or getattr(callback, "fused_steps_safe", False):
        return None
    hooks = [hook for hook in PER_BATCH_HOOKS if _overrides(callback, hook)]
    return f"callback {name} uses per-batch hook {hooks[0]}" if hooks else None


def plan_for(cfg: DictConfig, trainer: pl.Trainer) -> FusedPlan | None:
    """The fused plan for this run, or None for Lightning's own loop.

    `auto` falls back silently (returning None) when fusing would not be exact; an explicit number above 1 that
    cannot be honoured is a configuration error naming the reasons.
    """
    value = cfg.get(KEY, OLD_RUNS)
    steps = requested_steps(value, cfg.data.batch_size)
    if steps == 1:
        return None
    reasons = reasons_to_keep_one(cfg, trainer)
    if reasons and value == "auto":
        return None
    if reasons:
        raise LeversConfigError(KEY, value, "1 or auto for this run: " + "; ".join(reasons))
    return FusedPlan(steps, cfg.data.batch_size, trainer.gradient_clip_val, trainer.gradient_clip_algorithm or "norm")


def run_fused_steps(module: pl.LightningModule, batch: Sequence[torch.Tensor], batch_idx: int) -> dict:
    """The body of a fused `training_step`: one optimizer step per mini-batch of the chunk, as Lightning would."""
    plan: FusedPlan = module.fused_plan
    trainer = module.trainer
    lightning_optimizer = module.optimizers()
    optimizer = lightning_optimizer.optimizer
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    features, target = batch
    first = batch_idx * plan.steps  # index within the epoch of this chunk's first mini-batch
    per_step = any(config.interval == "step" for config in trainer.lr_scheduler_configs)
    losses, totals = [], []
    for offset, (x, y) in enumerate(zip(features.split(plan.batch_size), target.split(plan.batch_size), strict=True)):
        optimizer.zero_grad(set_to_none=True)
        loss, total = module.losses(x, y)
        total.backward()
        clip(parameters, plan)
        lightning_optimizer._on_before_step()  # the manual loop's step counter: trainer.global_step
        optimizer.step()
        lightning_optimizer._on_after_step()
        if per_step:
            step_schedulers(module, "step", first + offset, plateau=False)
        losses.append(loss.detach())
        totals.append(total.detach())
    last_in_epoch = batch_idx + 1 == trainer.num_training_batches
    if last_in_epoch:  # Lightning steps these after the epoch's last batch
        step_schedulers(module, "epoch", trainer.current_epoch, plateau=False)
    # Loggers take their step from the batches stepped; make it count optimizer steps, as in the automatic loop.
    trainer.fit_loop.epoch_loop._batches_that_stepped += len(losses) - 1
    step_losses = torch.stack(losses)
    last_rows = len(target) - plan.batch_size * (len(losses) - 1)
    module.fused_epoch_loss.add(step_losses, plan.batch_size, last_rows)
    if last_in_epoch:
        module.log_epoch_loss()
    # The guard reads what was minimised (penalties included), as it reads training_step's loss in Lightning's loop.
    return {"loss": step_losses.mean(), "step_losses": torch.stack(totals)}


class EpochLoss:
    """The epoch's size-weighted mean training loss, summed on the loss's device (no host sync per call) and logged
    once per epoch: `self.log` costs about a millisecond a call, more than a small chunk's optimizer steps."""

    def __init__(self) -> None:
        self.total: torch.Tensor | None = None
        self.rows = 0

    def add(self, step_losses: torch.Tensor, batch_size: int, last_rows: int) -> None:
        """Losses of full mini-batches of `batch_size` rows but the last, of `last_rows` (no host tensor, no copy)."""
        weighted = step_losses.sum() * batch_size + step_losses[-1] * (last_rows - batch_size)
        self.total = weighted if self.total is None else self.total + weighted
        self.rows += batch_size * (len(step_losses) - 1) + last_rows

    def pop(self) -> tuple[torch.Tensor, int] | None:
        """(mean, rows) of the epoch so far, and start afresh; None when nothing was added."""
        if self.total is None:
            return None
        mean, rows = self.total / self.rows, self.rows
        self.total, self.rows = None, 0
        return mean, rows


def clip(parameters: Iterable[torch.Tensor], plan: FusedPlan) -> None:
    """What Lightning's automatic loop does with trainer.gradient_clip_val (the same torch functions)."""
    if not plan.clip_val:
        return
    if plan.clip_algorithm == "value":
        torch.nn.utils.clip_grad_value_(parameters, plan.clip_val)
    else:
        torch.nn.utils.clip_grad_norm_(parameters, plan.clip_val)


def step_schedulers(module: pl.LightningModule, interval: str, index: int, plateau: bool) -> None:
    """Lightning's scheduler update rule (`_update_learning_rates`), which it skips under manual optimization.

    `index` is the mini-batch index within the epoch (interval step) or the epoch; a scheduler steps when
    index + 1 is a multiple of its frequency. Under manual optimization Lightning also drops the scheduler's
    `monitor`, so a plateau scheduler watches the module's `scheduler_config.monitor`.
    """
    trainer = module.trainer
    for config in trainer.lr_scheduler_configs:
        is_plateau = isinstance(config.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if config.interval != interval or is_plateau != plateau or (index + 1) % config.frequency:
            continue
        metric = None
        if is_plateau:
            monitor = module.scheduler_config.monitor
            metric = trainer.callback_metrics.get(monitor)
            if metric is None:
                raise LeversConfigError(
                    "scheduler.monitor", monitor, f"a logged metric: {sorted(trainer.callback_metrics)}"
                )
        module.lr_scheduler_step(config.scheduler, metric)


def continue_step_count(trainer: pl.Trainer, checkpoint_step: int | None) -> None:
    """After loading a checkpoint, keep `trainer.global_step` where the checkpoint left it.

    Lightning counts optimizer steps in two places, one for automatic and one for manual optimization, and reads the
    one of the current mode: a checkpoint written in the other mode (e.g. `ckpt_path=` from a run with another
    steps_per_call) would restart the count at 0, and with it the logged step axis that a resume trims by.
    """
    if checkpoint_step is None or trainer.global_step == checkpoint_step:
        return
    epoch_loop = trainer.fit_loop.epoch_loop
    if trainer.lightning_module.automatic_optimization:
        counter = epoch_loop.automatic_optimization.optim_progress.optimizer.step.total
    else:
        counter = epoch_loop.manual_optimization.optim_step_progress.total
    counter.ready = counter.completed = checkpoint_step
