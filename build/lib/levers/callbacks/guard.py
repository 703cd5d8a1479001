"""Stops a run at the first non-finite training loss, naming the step and the levers that usually cause it.

Lightning's EarlyStopping(check_finite=True) only looks at the validation metric once an epoch; by then a NaN has
spread through every weight and the last checkpoint is overwritten with it. This guard checks the loss that
`training_step` returns, raises before the next optimizer step is logged or checkpointed, and so leaves the best
checkpoint and summary.json (status "diverged") as they were.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from levers.errors import LeversRunFailed

LEVERS = (
    "lower the learning rate (optimizer.lr=<a tenth>, or optimizer.lr=auto for an LR range test)",
    "clip gradients (trainer.gradient_clip_val=1.0)",
    "check the input scaling (scaling=standard) and the loss for log(0) or division by zero",
)


class NonFiniteLoss(LeversRunFailed):
    status = "diverged"

    def __init__(self, step: int, epoch: int, value: float) -> None:
        self.step, self.epoch, self.value = step, epoch, value
        hints = "; ".join(LEVERS)
        super().__init__(f"training loss became {value} at step {step} (epoch {epoch}); try: {hints}")


class NonFiniteGuard(pl.Callback):
    """Checks every step's training loss without a per-step host sync on accelerators.

    The first bad step is recorded on the loss's device (no sync) and read back every `every_n_steps` steps, before
    validation and at epoch end; on a single CPU process reading it is free, so it is read every step. Under data
    parallelism the ranks agree (one collective per check) so that all of them stop.
    """

    fused_steps_safe = True  # reads every optimizer step's loss from a chunk's outputs (levers.fused_steps)

    def __init__(self, every_n_steps: int = 50) -> None:
        self.every_n_steps = every_n_steps
        self._first_bad: torch.Tensor | None = None
        self._bad_value: torch.Tensor | None = None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        losses = _step_losses(outputs)
        if losses is None:
            return
        if self._first_bad is None:
            self._first_bad = torch.full((), -1, dtype=torch.long, device=losses.device)
            self._bad_value = torch.zeros((), dtype=losses.dtype, device=losses.device)
        # One loss per optimizer step of this batch (several with levers.fused_steps); the last is global_step - 1.
        steps = torch.arange(len(losses), device=losses.device) + (trainer.global_step - len(losses))
        bad = ~torch.isfinite(losses)
        first = torch.where(bad, steps, torch.iinfo(torch.long).max).argmin()
        newly_bad = bad.any() & (self._first_bad < 0)
        self._first_bad = torch.where(newly_bad, steps[first], self._first_bad)
        self._bad_value = torch.where(newly_bad, losses[first], self._bad_value)
        single_cpu = losses.device.type == "cpu" and trainer.world_size == 1
        if single_cpu or trainer.global_step % self.every_n_steps < len(losses):
            self._raise_if_bad(trainer)

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._raise_if_bad(trainer)  # before a validation pass and checkpoint on NaN weights

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._raise_if_bad(trainer)

    def _raise_if_bad(self, trainer: pl.Trainer) -> None:
        if self._first_bad is None:
            return
        step = int(self._first_bad.item())
        bad = step >= 0
        if trainer.world_size > 1:  # every rank must stop together, or the others wait forever in the next all-reduce
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if bad:  # a rank whose own losses were finite reports the current step
            value = float(self._bad_value.item()) if step >= 0 else float("nan")
            raise NonFiniteLoss(step if step >= 0 else trainer.global_step - 1, trainer.current_epoch, value)


def _step_losses(outputs: Any) -> torch.Tensor | None:
    """The training loss of every optimizer step behind `outputs`, as a 1-d detached tensor (None: nothing to check)."""
    if isinstance(outputs, dict) and isinstance(outputs.get("step_losses"), torch.Tensor):
        return outputs["step_losses"].detach().reshape(-1)
    loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
    return loss.detach().reshape(1) if isinstance(loss, torch.Tensor) else None
