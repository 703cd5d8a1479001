"""Several optimizer steps per Lightning training step: the per-step overhead of Lightning's loop, paid once per chunk.

For the small networks levers trains, one optimizer step costs well under a millisecond on a CPU, and Lightning's
automatic loop adds about as much again (hooks on every callback, the closure, `self.log`). With `steps_per_call`
above 1 the data module yields chunks of `steps_per_call` mini-batches and the module runs them in one
`training_step` under manual optimization, doing per mini-batch exactly what the automatic loop does: zero the
gradients, forward, backward, clip (trainer.gradient_clip_val / _algorithm), step, count the step
(`trainer.global_step`), and step per-step schedulers with their `frequency` (with trainer.accumulate_grad_batches,
per group of mini-batches, as Lightning accumulates). Epoch-interval schedulers step where
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
(`levers.lightning_compat.continue_step_count`).

The seam: `fused_steps_for(request, trainer)` decides, before fit, whether and how to fuse, and returns one `FusedSteps`
that owns the plan and the loop; the run hands it to the module once (`LitModel.use_fused_steps`), and the module
calls its hooks. The loop uses the module's `losses` and public LightningModule API only (`FusedModule`); what it
needs of Lightning's private attributes is in levers.lightning_compat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint, ProgressBar
from pytorch_lightning.core.optimizer import LightningOptimizer
from pytorch_lightning.plugins.precision import Precision
from pytorch_lightning.strategies import SingleDeviceStrategy

from levers.errors import LeversConfigError
from levers.lightning_compat import advance_logged_steps, checkpoints_within_epochs, counted_step, epoch_ran_to_its_end

KEY = "steps_per_call"
AUTO_ROWS_PER_CALL = 4096  # auto: enough mini-batches per call that Lightning's ~1-3 ms per call is a few percent
PER_STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step", "on_before_zero_grad")
PER_BATCH_HOOKS = ("on_train_batch_start", "on_train_batch_end")
OLD_RUNS = 1  # a run directory saved before `steps_per_call` existed: Lightning's loop, as its checkpoints were made


@dataclass(frozen=True)
class FusedPlan:
    """What a fused training_step does, decided from the config and the Trainer before fit."""

    steps: int  # optimizer steps (mini-batches) per training_step call
    batch_size: int  # rows per mini-batch
    clip_val: float | None
    clip_algorithm: str  # norm | value
    plateau_monitor: str | None  # scheduler.monitor: the metric a reduce-on-plateau scheduler watches
    accumulate: int = 1  # trainer.accumulate_grad_batches: mini-batches whose gradients one optimizer step sums


@dataclass(frozen=True)
class FusedRequest:
    """What the config says that bears on fusing (levers.build.fused_request reads it): the setting, the batch
    size, and the levers of other groups that need Lightning's own loop."""

    steps_per_call: int | str  # `steps_per_call`: a number or auto
    batch_size: int  # data.batch_size
    mode: str  # train | a diagnostic
    swa: bool  # regularization=swa
    plateau_per_step: bool  # a reduce-on-plateau scheduler stepped every batch
    plateau_monitor: str | None  # scheduler.monitor


def requested_steps(value: int | str, batch_size: int) -> int:
    """`steps_per_call` as a number before any compatibility check; auto sizes a call to AUTO_ROWS_PER_CALL rows."""
    if value == "auto":
        return max(1, AUTO_ROWS_PER_CALL // batch_size)
    return int(value)


def reasons_to_keep_one(request: FusedRequest, trainer: pl.Trainer) -> list[str]:
    """Why this run must keep one optimizer step per Lightning step (empty: fusing is exact)."""
    reasons = []
    if request.mode != "train":
        reasons.append(f"mode={request.mode} drives Lightning's loop itself")
    if not isinstance(trainer.strategy, SingleDeviceStrategy):
        reasons.append(f"strategy {type(trainer.strategy).__name__}: data parallelism syncs on every backward")
    if type(trainer.precision_plugin) is not Precision:
        reasons.append(f"trainer.precision={trainer.precision}: mixed precision scales the loss per step")
    if trainer.max_steps != -1:
        reasons.append("trainer.max_steps is set (checked per Lightning step)")
    if not _whole_epochs(trainer.limit_train_batches) or trainer.val_check_interval != 1.0:
        reasons.append("trainer.limit_train_batches / val_check_interval count Lightning steps")
    if request.swa:
        reasons.append("regularization=swa: Lightning's SWA callback needs automatic optimization")
    if request.plateau_per_step:
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
        return f"{name} saves every n steps or after a time" if checkpoints_within_epochs(callback) else None
    if isinstance(callback, ProgressBar) or getattr(callback, "fused_steps_safe", False):
        return None
    hooks = [hook for hook in PER_BATCH_HOOKS if _overrides(callback, hook)]
    return f"callback {name} uses per-batch hook {hooks[0]}" if hooks else None


def fused_steps_for(request: FusedRequest, trainer: pl.Trainer) -> FusedSteps | None:
    """The fused loop for this run, or None for Lightning's own loop.

    `auto` falls back silently (returning None) when fusing would not be exact; an explicit number above 1 that
    cannot be honoured is a configuration error naming the reasons.
    """
    value = request.steps_per_call
    steps = requested_steps(value, request.batch_size)
    if steps == 1:
        return None
    reasons = reasons_to_keep_one(request, trainer)
    if reasons and value == "auto":
        return None
    if reasons:
        raise LeversConfigError(KEY, value, "1 or auto for this run: " + "; ".join(reasons))
    clip_algorithm = trainer.gradient_clip_algorithm or "norm"
    accumulate = trainer.accumulate_grad_batches
    plan = FusedPlan(
        steps, request.batch_size, trainer.gradient_clip_val, clip_algorithm, request.plateau_monitor, accumulate
    )
    return FusedSteps(plan)


class FusedModule(Protocol):
    """What the fused loop uses of the LightningModule: its loss, and public LightningModule API."""

    @property
    def trainer(self) -> pl.Trainer: ...

    def losses(self, features: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the task loss, which is logged; the loss with penalties, which is minimised) of one mini-batch."""
        ...

    def optimizers(self) -> LightningOptimizer: ...

    def lr_scheduler_step(self, scheduler: Any, metric: Any | None) -> None: ...

    def log(self, name: str, value: torch.Tensor, **kwargs: Any) -> None: ...


class FusedSteps:
    """The fused loop of one run: its plan, the epoch's train loss, and what Lightning's automatic loop does per
    mini-batch (clipping, step counting, scheduler steps), done inside the module's training_step.

    Decided once from the config and the Trainer (`fused_steps_for`) and handed to the module before fit
    (`LitModel.use_fused_steps`); the module calls its four public methods and nothing else of this module.
    """

    def __init__(self, plan: FusedPlan) -> None:
        self.plan = plan
        self.epoch_loss = EpochLoss()

    def training_step(self, module: FusedModule, batch: Sequence[torch.Tensor], batch_idx: int) -> dict:
        """One optimizer step per mini-batch of the chunk (per `accumulate` of them), as Lightning would; the guard's
        outputs.

        Gradient accumulation as Lightning's automatic loop does it: the gradients are zeroed at the first mini-batch
        of each group of `accumulate` (counted from the epoch's start), each loss is divided by `accumulate` before
        its backward, and the optimizer steps (clipped first) after the group's last mini-batch, or after the
        epoch's last one when the epoch ends inside a group; per-step schedulers step with the optimizer.
        """
        plan, trainer = self.plan, module.trainer
        lightning_optimizer = module.optimizers()
        optimizer = lightning_optimizer.optimizer
        parameters = [p for group in optimizer.param_groups for p in group["params"]]
        features, target = batch
        first = batch_idx * plan.steps  # index within the epoch of this chunk's first mini-batch
        per_step = any(config.interval == "step" for config in trainer.lr_scheduler_configs)
        mini_batches = zip(features.split(plan.batch_size), target.split(plan.batch_size), strict=True)
        last_in_epoch = batch_idx + 1 == trainer.num_training_batches
        losses, totals, optimizer_steps = [], [], 0
        chunk = list(mini_batches)
        for offset, (x, y) in enumerate(chunk):
            index = first + offset  # the mini-batch's index within the epoch
            if index % plan.accumulate == 0:
                optimizer.zero_grad(set_to_none=True)
            loss, total = module.losses(x, y)
            (total / plan.accumulate if plan.accumulate > 1 else total).backward()
            losses.append(loss.detach())
            totals.append(total.detach())
            if (index + 1) % plan.accumulate and not (last_in_epoch and offset + 1 == len(chunk)):
                continue  # inside a group: accumulate
            clip(parameters, plan)
            counted_step(lightning_optimizer)
            optimizer_steps += 1
            if per_step:
                self._step_schedulers(module, "step", index, plateau=False)
        if last_in_epoch:  # Lightning steps these after the epoch's last batch
            self._step_schedulers(module, "epoch", trainer.current_epoch, plateau=False)
        # The logged step axis counts optimizer steps, as usual (Lightning adds one per call itself).
        advance_logged_steps(trainer, optimizer_steps - 1)
        step_losses = torch.stack(losses)
        self.epoch_loss.add(step_losses, plan.batch_size, len(target) - plan.batch_size * (len(losses) - 1))
        if last_in_epoch:
            self._log_epoch_loss(module)
        # The guard reads what was minimised (penalties included), as it reads training_step's loss in Lightning's loop.
        return {"loss": step_losses.mean(), "step_losses": torch.stack(totals)}

    def on_train_epoch_end(self, module: FusedModule) -> None:
        """The epoch's train/loss if an epoch was cut short, and the plateau schedulers' epoch-end step."""
        self._log_epoch_loss(module)
        # Lightning steps plateau schedulers at the end of a whole epoch, except under manual optimization.
        if epoch_ran_to_its_end(module.trainer):
            self._step_schedulers(module, "epoch", module.trainer.current_epoch, plateau=True)

    def optimizer_steps(self, trainer: pl.Trainer) -> int:
        """The optimizer steps of the whole fit, which a per-step schedule spans (Lightning's estimate counts calls).

        In configure_optimizers the train dataloader may not be loaded yet: Lightning's public
        `estimated_stepping_batches` loads it (what Lightning advises for schedules there).
        """
        if trainer.train_dataloader is None:
            _ = trainer.estimated_stepping_batches
        mini_batches = trainer.train_dataloader.optimizer_steps_per_epoch()
        return trainer.max_epochs * -(-mini_batches // self.plan.accumulate)  # a short last group steps too

    def manual(self, optimization: dict[str, Any]) -> dict[str, Any]:
        """`configure_optimizers`' value for manual optimization: without the scheduler's `monitor`, which Lightning
        ignores there (and warns about); the plan's `plateau_monitor` is used instead."""
        if "lr_scheduler" in optimization:
            optimization["lr_scheduler"].pop("monitor", None)
        return optimization

    def _log_epoch_loss(self, module: FusedModule) -> None:
        """The epoch's train/loss, logged once (in its last chunk, or at epoch end if cut short)."""
        epoch_loss = self.epoch_loss.pop()
        if epoch_loss is not None:
            mean, rows = epoch_loss
            module.log("train/loss", mean, on_step=False, on_epoch=True, batch_size=rows)

    def _step_schedulers(self, module: FusedModule, interval: str, index: int, plateau: bool) -> None:
        """Lightning's scheduler update rule (`_update_learning_rates`), which it skips under manual optimization.

        `index` is the mini-batch index within the epoch (interval step) or the epoch; a scheduler steps when
        index + 1 is a multiple of its frequency. A plateau scheduler watches the plan's `plateau_monitor`.
        """
        trainer = module.trainer
        for config in trainer.lr_scheduler_configs:
            is_plateau = isinstance(config.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
            if config.interval != interval or is_plateau != plateau or (index + 1) % config.frequency:
                continue
            metric = None
            if is_plateau:
                monitor = self.plan.plateau_monitor
                metric = trainer.callback_metrics.get(monitor) if monitor else None
                if metric is None:
                    raise LeversConfigError(
                        "scheduler.monitor", monitor, f"a logged metric: {sorted(trainer.callback_metrics)}"
                    )
            module.lr_scheduler_step(config.scheduler, metric)


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
